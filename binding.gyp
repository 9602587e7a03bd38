{
  # The build that ships (node-gyp / prebuildify). CMakeLists.txt is the developer build of the same sources;
  # test/build.test.ts keeps their source lists identical.
  "targets": [
    {
      "target_name": "multiproc",
      "sources": [
        "native/addon.cc",
        "native/core/errors.cc",
        "native/async/reactor.cc",
        "native/async/waiters.cc",
        "native/process.cc",
        "native/fd.cc",
        "native/shm.cc",
        "native/mqueue.cc",
        "native/futex.cc",
        "native/sync.cc",
        "native/sync/ops.cc",
        "native/sync/jobs.cc",
        "native/sync/wraps.cc",
        "native/bench.cc",
        "native/ns.cc",
        "native/signal.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      # Bind every symbol at load (-z now): a forked child then resolves no PLT entry lazily, each of which
      # writes the GOT (a copy-on-write fault) and walks the symbol tables the first time it is called there.
      "ldflags": ["-Wl,-z,now"],
      "cflags_cc": ["-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
    }
  ]
}
