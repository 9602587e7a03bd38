// The sync family (to be written).
#include "addon.h"

namespace mp {

void InitSync(Napi::Env env, Napi::Object exports) {}

}  // namespace mp
