"""etcd_protos: the etcd v3 API protos of Debian's golang-etcd-server-dev 3.4, never copied into
the repository.

scripts/setup.sh unpacks that package (`apt-get download` + `dpkg -x`, without installing its 136
dependencies) into /var/cache/infrakit/golang-etcd-server-dev; a machine that has the package
installed has the same files under /usr. This rule links the three protos the client needs
(rpc.proto, kv.proto, auth.proto) into the external repository `@etcd_protos` under their import
paths ("etcd/..."); //third_party/etcd strips their gogoproto and google.api imports and options
and compiles them. Nothing is downloaded.
"""

_ROOTS = [
    "/var/cache/infrakit/golang-etcd-server-dev/usr/share/gocode/src/go.etcd.io",
    "/usr/share/gocode/src/go.etcd.io",
]

_FILES = [
    "etcd/etcdserver/etcdserverpb/rpc.proto",
    "etcd/mvcc/mvccpb/kv.proto",
    "etcd/auth/authpb/auth.proto",
]

def _etcd_protos_impl(ctx):
    root = None
    for candidate in _ROOTS:
        if ctx.path(candidate + "/" + _FILES[0]).exists:
            root = candidate
            break
    if root == None:
        # Fail only when something needs the protos, with the command that fixes it.
        ctx.file("BUILD.bazel", """
package(default_visibility = ["//visibility:public"])

genrule(
    name = "missing",
    outs = ["missing.proto"],
    cmd = "echo 'etcd protos not found under {roots}: run scripts/setup.sh' >&2; exit 1",
)

filegroup(
    name = "protos",
    srcs = [":missing"],
)
""".format(roots = " or ".join(_ROOTS)))
        return
    for f in _FILES:
        ctx.symlink(root + "/" + f, f)
    ctx.file("BUILD.bazel", """
package(default_visibility = ["//visibility:public"])

# Debian's golang-etcd-server-dev, found under {root}.
filegroup(
    name = "protos",
    srcs = {files},
)
""".format(root = root, files = repr(_FILES)))

etcd_protos = repository_rule(
    implementation = _etcd_protos_impl,
    local = True,
)
