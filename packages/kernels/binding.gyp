{
  "targets": [
    {
      "target_name": "urgate_kernels",
      "sources": [
        "csrc/layout.cc",
        "csrc/gates.cc",
        "csrc/rnn.cc",
        "csrc/blas.cc",
        "csrc/parallel.cc",
        "csrc/packed_gemm.cc",
        "csrc/softmax_xent.cc",
        "csrc/adam.cc",
        "csrc/rmc.cc",
        "csrc/lm.cc",
        "csrc/lm_model.cc",
        "csrc/dense.cc",
        "csrc/adaptive_softmax.cc",
        "napi/addon.cc",
        "napi/model.cc",
        "napi/lm_model.cc",
        "napi/rmc.cc",
        "napi/adaptive_softmax.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-pthread"],
      "libraries": ["-lopenblas"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
