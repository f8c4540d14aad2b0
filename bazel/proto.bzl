"""infrakit_proto_library: one .proto set -> one C++ (+ gRPC) cc_library.

Protos import each other by their path under `proto/` (e.g. "infrakit/instance/v1/instance.proto"),
the path that generated clients in other languages see as well. Code includes
"infrakit/instance/v1/instance.pb.h". protoc and grpc_cpp_plugin come from Debian's packages.
"""

def infrakit_proto_library(
        name,
        srcs,
        deps = [],
        grpc = True,
        import_root = "proto",
        proto_path = None,
        visibility = ["//visibility:public"]):
    """Generates and compiles C++ code for `srcs`.

    Args:
      name: the cc_library's name; `<name>_protos` is the transitive .proto filegroup.
      srcs: the .proto files of this package.
      deps: other infrakit_proto_library targets whose protos these import.
      grpc: also generate gRPC service stubs.
      import_root: the workspace directory that import paths are relative to.
      proto_path: directory holding `srcs` when they are not in this package (system protos).
      visibility: visibility of the generated targets.
    """
    native.filegroup(
        name = name + "_protos",
        srcs = srcs + [d + "_protos" for d in deps],
        visibility = visibility,
    )

    outs = []
    rels = []
    for src in srcs:
        base = src.split(":")[-1]
        if proto_path:
            # A label into another repository: keep the path below proto_path.
            # proto_path is "external/<repo>/<dir>"; the label's path starts with <dir>.
            base = base[len("/".join(proto_path.split("/")[2:])) + 1:]
        stem = base[:-len(".proto")]
        rels.append(base)
        outs += [stem + ".pb.h", stem + ".pb.cc"]
        if grpc:
            outs += [stem + ".grpc.pb.h", stem + ".grpc.pb.cc"]

    pkg = native.package_name()
    if proto_path:
        include_flag = "-I" + proto_path
        out_dir = "$(GENDIR)/" + pkg
        files = " ".join([proto_path + "/" + r for r in rels])
    else:
        include_flag = "-I" + import_root
        out_dir = "$(GENDIR)/" + import_root
        files = " ".join([pkg + "/" + r for r in rels])

    cmd = "/usr/bin/protoc " + include_flag + " --cpp_out=" + out_dir
    if grpc:
        cmd += (" --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin" +
                " --grpc_out=" + out_dir)
    cmd += " " + files

    native.genrule(
        name = name + "_gen",
        srcs = [":" + name + "_protos"],
        outs = outs,
        cmd = cmd,
        message = "protoc " + pkg,
    )

    # Code includes the headers by their import path ("infrakit/x/v1/x.pb.h").
    strip = "/" + pkg if proto_path else "/" + import_root

    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        strip_include_prefix = strip,
        deps = deps + [
            "@system//:protobuf",
            "@system//:grpc",
        ],
        visibility = visibility,
    )
