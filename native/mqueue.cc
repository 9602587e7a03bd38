// The mqueue family (to be written).
#include "addon.h"

namespace mp {

void InitMqueue(Napi::Env env, Napi::Object exports) {}

}  // namespace mp
