{
  "targets": [
    {
      "target_name": "tabby_native",
      "sources": [
        "src/module.cc",
        "src/sys_error.cc",
        "src/netns.cc",
        "src/netlink_socket.cc",
        "src/netlink_routes.cc",
        "src/netlink_batch.cc",
        "src/netlink_route_batch.cc",
        "src/netlink_links.cc",
        "src/netlink_neigh.cc",
        "src/netlink_addr.cc",
        "src/bpf_objects.cc",
        "src/bpf_tc.cc",
        "src/bpf_maps.cc",
        "src/bpf_test_run.cc",
        "src/sockopts.cc",
        "src/sysctl.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["-lmnl", "-lbpf"]
    }
  ]
}
