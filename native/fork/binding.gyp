{
  # The fork addon: uses node.h/v8.h/uv.h, so it is built per Node ABI (NODE_MODULE_VERSION) and Node refuses
  # to load it into any other. Loaded only by posix.fork(). See the comment at the top of fork.cc.
  "targets": [
    {
      "target_name": "multiproc_fork",
      "sources": ["fork.cc"],
      "defines": ["_GNU_SOURCE"],
      "cflags_cc": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-Wno-cast-function-type"]
    }
  ]
}
