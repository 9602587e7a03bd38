// The bench family (to be written).
#include "addon.h"

namespace mp {

void InitBench(Napi::Env env, Napi::Object exports) {}

}  // namespace mp
