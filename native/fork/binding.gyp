{
  # The fork addon: uses node.h/v8.h/uv.h, so it is built per Node ABI (NODE_MODULE_VERSION) and Node refuses
  # to load it into any other. Loaded only by posix.fork(). internals.h lists what it assumes about Node.
  "targets": [
    {
      "target_name": "multiproc_fork",
      "sources": ["run.cc", "quiesce.cc", "child_platform.cc", "probes.cc"],
      "defines": ["_GNU_SOURCE"],
      # -z now: no lazy symbol binding in a forked child (see ../../binding.gyp); -16 copy-on-write faults a child.
      "ldflags": ["-Wl,-z,now"],
      "cflags_cc": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-Wno-cast-function-type", "-Wno-restrict"]
    }
  ]
}
