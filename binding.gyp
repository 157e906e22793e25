{
  "targets": [
    {
      "target_name": "lift_native",
      "sources": [
        "native/addon.cc",
        "native/memory.cc",
        "native/gemm.cc",
        "native/gemm-f32.cc",
        "native/matvec.cc",
        "native/gemm-bf16.cc",
        "native/norm.cc",
        "native/rope.cc",
        "native/attention.cc",
        "native/attention-bf16.cc",
        "native/mlp.cc",
        "native/loss.cc",
        "native/optim.cc",
        "native/quant.cc",
        "native/quant-formats.cc",
        "native/quant-simd.cc",
        "native/quant-dot.cc",
        "native/quant-dot-avx2.cc",
        "native/mapped.cc",
        "native/lora.cc",
        "native/decode.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "/usr/include/x86_64-linux-gnu/openblas-openmp"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-fno-math-errno"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++1y"],
      "ldflags": ["-fopenmp", "-Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp"],
      "libraries": ["-L/usr/lib/x86_64-linux-gnu/openblas-openmp", "-lopenblas"]
    }
  ]
}
