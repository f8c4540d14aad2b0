#!/usr/bin/env python3
"""A client of InfraKit's gRPC contracts written as a Python user would write it.

The code is generated from proto/ when the script starts, with Debian's protoc and
grpc_python_plugin (package protobuf-compiler-grpc), into a scratch directory; it runs with
Debian's python3-grpcio and python3-protobuf. Two scenarios, each against plugins already
serving in --plugins-dir:

  group     WatchGroup a group of two instance-file instances under flavor-vanilla, wait with
            InspectGroup until it has converged, DescribeUpdate and UpdateGroup to a changed
            spec following the stream to COMPLETED, then DestroyGroup.
  instance  Watch instance-file's instances with a tag filter, Provision twice with the same
            idempotency key (one instance), see it ADDED on the stream, Destroy it, see it
            REMOVED, and the NOT_FOUND of a second Destroy.
  pages     BatchProvision 10,000 instance-file instances with typical properties, list them
            with Describe's pages on a channel with default options (4 MiB receive limit),
            check that one answer with all of them would exceed 4 MiB and that bad page sizes
            and tokens are INVALID_ARGUMENT, then BatchDestroy them.

Every step prints one line; any unexpected answer raises, and the script exits non-zero.

Usage: python3 interop_client.py --plugins-dir DIR --proto-dir PROTO SCENARIO
(run it with /usr/bin/python3, the interpreter Debian's python3-grpcio is installed for).
"""

import argparse
import importlib
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

# Generous: the machine may be shared; a condition that holds is seen within milliseconds.
WAIT_SECONDS = 60.0
# Every unary call's deadline.
CALL_SECONDS = 30.0

PROTOS = [
    "infrakit/plugin/v1/plugin.proto",
    "infrakit/instance/v1/instance.proto",
    "infrakit/flavor/v1/flavor.proto",
    "infrakit/group/v1/group.proto",
]


def generate(proto_dir, out_dir):
    """Runs protoc with grpc_python_plugin over PROTOS into out_dir; returns the modules."""
    command = [
        "protoc",
        "-I", proto_dir,
        # google/protobuf/struct.proto and timestamp.proto, from Debian's libprotobuf-dev.
        "-I", "/usr/include",
        "--python_out=" + out_dir,
        "--grpc_python_out=" + out_dir,
        "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
    ] + PROTOS
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("protoc failed (%d): %s" % (result.returncode, result.stderr))
    sys.path.insert(0, out_dir)
    modules = {}
    for proto in PROTOS:
        base = proto[: -len(".proto")].replace("/", ".")
        area = proto.split("/")[1]
        modules[area] = importlib.import_module(base + "_pb2")
        modules[area + "_grpc"] = importlib.import_module(base + "_pb2_grpc")
    print("generated Python code for %d protos" % len(PROTOS))
    return modules


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def wait_for(condition, what):
    """Evaluates condition() until it returns a true value (returned) or WAIT_SECONDS pass."""
    deadline = time.monotonic() + WAIT_SECONDS
    last = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


class StreamReader:
    """Reads a server stream on a thread, so that the test can wait for messages with deadlines."""

    def __init__(self, call):
        self.call = call
        self.messages = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        import grpc

        try:
            for message in self.call:
                self.messages.put(message)
        except grpc.RpcError as error:
            self.messages.put(error)
        self.messages.put(None)  # End of stream.

    def next(self, what):
        """The next message; raises on a timeout, on the end of the stream, or its error."""
        try:
            message = self.messages.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            raise AssertionError("timed out waiting for " + what)
        if message is None:
            raise AssertionError("stream ended while waiting for " + what)
        if not hasattr(message, "DESCRIPTOR"):
            raise AssertionError("stream failed while waiting for %s: %s" % (what, message))
        return message

    def rest(self):
        """Every remaining message until the end of the stream (which must come in time)."""
        out = []
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("the stream did not end in time")
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if message is None:
                return out
            if not hasattr(message, "DESCRIPTOR"):
                raise AssertionError("stream failed: %s" % message)
            out.append(message)


def channel(plugins_dir, name):
    import grpc

    return grpc.insecure_channel("unix:" + os.path.join(plugins_dir, name + ".sock"))


def check_info(m, plugins_dir, name, kind):
    stub = m["plugin_grpc"].PluginServiceStub(channel(plugins_dir, name))
    info = stub.Info(m["plugin"].InfoRequest(), timeout=CALL_SECONDS)
    check(info.name == name, "Info.name is %r, not %r" % (info.name, name))
    check(info.kind == kind, "Info.kind of %s is %d" % (name, info.kind))
    print("Info: %s is %s (%s)" % (name, m["plugin"].PluginKind.Name(info.kind), info.binary))


def group_spec(m, note):
    from google.protobuf import json_format

    spec = m["group"].GroupSpec()
    json_format.ParseDict(
        {
            "id": "interop",
            "instance": {"plugin": "instance-file", "properties": {"Note": note}},
            "flavor": {
                "plugin": "flavor-vanilla",
                "properties": {"Init": ["echo " + note], "Tags": {"client": "python"}},
            },
            "allocation": {"size": 2},
        },
        spec,
    )
    return spec


def group_scenario(m, plugins_dir):
    import grpc

    g = m["group"]
    check_info(m, plugins_dir, "group", m["plugin"].PLUGIN_KIND_GROUP)
    stub = m["group_grpc"].GroupServiceStub(channel(plugins_dir, "group"))

    watched = stub.WatchGroup(g.WatchGroupRequest(spec=group_spec(m, "v1")), timeout=CALL_SECONDS)
    check(watched.message == "watching interop", "WatchGroup said %r" % watched.message)
    check(watched.config_sha, "WatchGroup returned no config_sha")
    print("WatchGroup: %s (config %s)" % (watched.message, watched.config_sha))

    try:
        stub.WatchGroup(g.WatchGroupRequest(spec=group_spec(m, "v1")), timeout=CALL_SECONDS)
        raise AssertionError("a second WatchGroup of the same group succeeded")
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.ALREADY_EXISTS, "second WatchGroup: %s" % error)
        print("WatchGroup again: %s" % error.code().name)

    def converged(sha):
        r = stub.InspectGroup(g.InspectGroupRequest(id="interop"), timeout=CALL_SECONDS)
        on_sha = [x for x in r.members if x.tags.get("infrakit.config_sha") == sha]
        ok = (r.status.converged and not r.status.updating and len(r.members) == 2
              and len(on_sha) == 2 and r.status.config_sha == sha)
        return r if ok else None

    inspected = wait_for(lambda: converged(watched.config_sha), "the group to converge")
    for member in inspected.members:
        check(member.tags.get("infrakit.group") == "interop", "member %s tags" % member.id)
        check(member.tags.get("client") == "python", "member %s lacks the flavor's tag" % member.id)
    print("InspectGroup: %d members, desired %d, converged" %
          (len(inspected.members), inspected.status.desired))

    listed = stub.ListGroups(g.ListGroupsRequest(), timeout=CALL_SECONDS)
    check([s.spec.id for s in listed.groups] == ["interop"], "ListGroups: %s" % listed)
    print("ListGroups: interop")

    v2 = group_spec(m, "v2")
    plan = stub.DescribeUpdate(g.DescribeUpdateRequest(spec=v2), timeout=CALL_SECONDS).plan
    check(plan.replaces == 2, "DescribeUpdate plan: %s" % plan)
    check(plan.summary.startswith("Performs a rolling update of 2 instances"),
          "DescribeUpdate summary %r" % plan.summary)
    print("DescribeUpdate: %s" % plan.summary)

    updates = StreamReader(stub.UpdateGroup(g.UpdateGroupRequest(spec=v2),
                                            timeout=WAIT_SECONDS))
    first = updates.next("the update's first message")
    check(first.phase == g.UPDATE_PHASE_STARTED, "first update message: %s" % first)
    rest = updates.rest()
    check(rest, "the update stream ended after STARTED")
    last = rest[-1]
    check(last.phase == g.UPDATE_PHASE_COMPLETED, "last update message: %s" % last)
    check(last.updated == 2 and last.total == 2, "COMPLETED counts: %s" % last)
    check(all(r.phase == g.UPDATE_PHASE_PROGRESS for r in rest[:-1]), "phases: %s" % rest)
    check(last.status.config_sha == plan.config_sha, "COMPLETED on config %s" %
          last.status.config_sha)
    print("UpdateGroup: STARTED, %d PROGRESS, COMPLETED (%d/%d updated)" %
          (len(rest) - 1, last.updated, last.total))
    wait_for(lambda: converged(plan.config_sha), "the group to converge on the new config")
    print("InspectGroup: converged on %s" % plan.config_sha)

    destroyed = stub.DestroyGroup(g.DestroyGroupRequest(id="interop"), timeout=CALL_SECONDS)
    check(destroyed.destroyed == 2, "DestroyGroup destroyed %d" % destroyed.destroyed)
    print("DestroyGroup: %d destroyed" % destroyed.destroyed)

    try:
        stub.InspectGroup(g.InspectGroupRequest(id="interop"), timeout=CALL_SECONDS)
        raise AssertionError("InspectGroup of a destroyed group succeeded")
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.NOT_FOUND, "InspectGroup after destroy: %s" % error)
        print("InspectGroup after DestroyGroup: %s" % error.code().name)


def instance_scenario(m, plugins_dir):
    import grpc

    i = m["instance"]
    check_info(m, plugins_dir, "instance-file", m["plugin"].PLUGIN_KIND_INSTANCE)
    stub = m["instance_grpc"].InstanceServiceStub(channel(plugins_dir, "instance-file"))
    tags = {"client": "python", "scenario": "instance"}

    watch_call = stub.Watch(i.WatchRequest(tags=tags), timeout=WAIT_SECONDS * 2)
    watch = StreamReader(watch_call)
    synced = watch.next("SYNCED")
    check(synced.type == i.EVENT_TYPE_SYNCED, "the first event of an empty set: %s" % synced)
    print("Watch: SYNCED")

    spec = i.Spec(tags=tags, init="echo hello", idempotency_key="interop-python-1")
    spec.properties.update({"Note": "from python"})
    first = stub.Provision(i.ProvisionRequest(spec=spec), timeout=CALL_SECONDS)
    check(first.id and first.created, "first Provision: %s" % first)
    again = stub.Provision(i.ProvisionRequest(spec=spec), timeout=CALL_SECONDS)
    check(again.id == first.id and not again.created, "retried Provision: %s" % again)
    print("Provision: %s created, the retry with the same key returned it (created=false)"
          % first.id)

    added = watch.next("ADDED")
    check(added.type == i.EVENT_TYPE_ADDED and added.instance.id == first.id, "event: %s" % added)
    print("Watch: ADDED %s" % added.instance.id)

    described = stub.Describe(i.DescribeRequest(tags=tags, include_properties=True),
                              timeout=CALL_SECONDS)
    check([d.id for d in described.instances] == [first.id], "Describe: %s" % described)
    d = described.instances[0]
    check(d.spec.properties["Note"] == "from python", "Describe properties: %s" % d)
    check(d.spec.init == "echo hello", "Describe init: %r" % d.spec.init)
    print("Describe: %s with its spec" % d.id)

    stub.Destroy(i.DestroyRequest(id=first.id, reason=i.DESTROY_REASON_TERMINATE),
                 timeout=CALL_SECONDS)
    print("Destroy: %s" % first.id)
    # A CHANGED event may come before the removal (e.g. the state going to TERMINATING).
    while True:
        event = watch.next("REMOVED")
        if event.type == i.EVENT_TYPE_REMOVED:
            break
        check(event.type == i.EVENT_TYPE_CHANGED and event.instance.id == first.id,
              "event before REMOVED: %s" % event)
    check(event.instance.id == first.id, "REMOVED: %s" % event)
    print("Watch: REMOVED %s" % event.instance.id)

    try:
        stub.Destroy(i.DestroyRequest(id=first.id), timeout=CALL_SECONDS)
        raise AssertionError("a second Destroy succeeded")
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.NOT_FOUND, "second Destroy: %s" % error)
        print("Destroy again: %s" % error.code().name)
    watch_call.cancel()


# The pages scenario's instances: enough that one answer with all of them would not fit the
# 4 MiB a default channel receives.
PAGES_INSTANCES = 10000
FOUR_MIB = 4 * 1024 * 1024


def pages_spec(i, n):
    """The spec of the n-th instance of the pages scenario: what a group member of the tutorial
    carries (its group's tags, a config's properties, a flavor's init script)."""
    spec = i.Spec(
        tags={
            "scenario": "pages",
            "infrakit.group": "pages",
            "infrakit.config_sha": "T6cmOAwpx-Juv4jorENVy93KutA=",
            "project": "infrakit",
            "tier": "web",
        },
        init="#!/bin/sh\nset -o errexit\ndocker pull nginx:alpine\n"
             "docker run -d -p 80:80 --name web-%d nginx:alpine\n"
             "echo 'instance %d of the pages scenario' > /etc/motd\n" % (n, n),
        idempotency_key="pages-%d" % n,
    )
    spec.properties.update({
        "Note": "Instance properties version 1.0",
        "Image": "ubuntu-22.04-server-amd64",
        "Type": "m5.large",
        "Zone": "eu-west-1a",
        "Network": {"Subnet": "subnet-0a1b2c3d4e5f", "SecurityGroups": ["sg-web", "sg-ssh"]},
    })
    return spec


def describe_all(stub, i, request):
    """Follows Describe's pages; returns the instances and the pages' sizes in bytes."""
    instances, sizes = [], []
    while True:
        page = stub.Describe(request, timeout=CALL_SECONDS)
        sizes.append(page.ByteSize())
        instances.extend(page.instances)
        if not page.next_page_token:
            return instances, sizes
        check(page.next_page_token != request.page_token, "the same token twice")
        request.page_token = page.next_page_token


def pages_scenario(m, plugins_dir):
    """Provisions PAGES_INSTANCES instances with BatchProvision, lists them with properties
    through Describe's pages on a channel with default options, checks the paging errors, and
    destroys them."""
    import grpc

    i = m["instance"]
    stub = m["instance_grpc"].InstanceServiceStub(channel(plugins_dir, "instance-file"))
    ids = []
    for start in range(0, PAGES_INSTANCES, 1000):
        batch = i.BatchProvisionRequest(requests=[
            i.ProvisionRequest(spec=pages_spec(i, n)) for n in range(start, start + 1000)])
        answer = stub.BatchProvision(batch, timeout=WAIT_SECONDS * 2)
        for result in answer.results:
            check(result.HasField("response"), "BatchProvision item: %s" % result)
            ids.append(result.response.id)
    print("BatchProvision: %d instances" % len(ids))

    tags = {"scenario": "pages"}
    instances, sizes = describe_all(
        stub, i, i.DescribeRequest(tags=tags, include_properties=True))
    got = [d.id for d in instances]
    check(sorted(got) == sorted(ids), "Describe listed %d instances, %d unique, of %d" %
          (len(got), len(set(got)), len(ids)))
    check(got == sorted(got), "Describe's pages are not in ID order")
    check(all(d.spec.init and d.spec.properties["Type"] == "m5.large" for d in instances),
          "an instance came without its spec")
    whole = i.DescribeResponse(instances=instances).ByteSize()
    check(whole > FOUR_MIB, "all %d instances take only %d bytes" % (len(got), whole))
    check(max(sizes) < FOUR_MIB, "a page of %d bytes" % max(sizes))
    print("Describe: %d instances with properties in %d pages (the largest %d bytes); one "
          "answer would take %d bytes, over 4 MiB; %d bytes per instance" %
          (len(got), len(sizes), max(sizes), whole, whole // len(got)))

    first = stub.Describe(i.DescribeRequest(tags=tags, page_size=10), timeout=CALL_SECONDS)
    check(len(first.instances) == 10 and first.next_page_token, "page_size 10: %d" %
          len(first.instances))
    for what, request in [
            ("page_size -1", i.DescribeRequest(tags=tags, page_size=-1)),
            ("other tags", i.DescribeRequest(tags={"scenario": "other"},
                                             page_token=first.next_page_token)),
            ("an altered token", i.DescribeRequest(tags=tags,
                                                   page_token="x" + first.next_page_token))]:
        try:
            stub.Describe(request, timeout=CALL_SECONDS)
            raise AssertionError("Describe with %s succeeded" % what)
        except grpc.RpcError as error:
            check(error.code() == grpc.StatusCode.INVALID_ARGUMENT, "%s: %s" % (what, error))
    print("Describe: INVALID_ARGUMENT for a negative page_size, other tags, an altered token")

    for start in range(0, len(ids), 1000):
        answer = stub.BatchDestroy(i.BatchDestroyRequest(requests=[
            i.DestroyRequest(id=x) for x in ids[start:start + 1000]]), timeout=WAIT_SECONDS * 2)
        check(all(r.code == 0 for r in answer.results), "BatchDestroy: %s" % answer)
    print("BatchDestroy: %d instances" % len(ids))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins-dir", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("scenario", choices=["group", "instance", "pages"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ik-py-") as out_dir:
        modules = generate(args.proto_dir, out_dir)
        if args.scenario == "group":
            group_scenario(modules, args.plugins_dir)
        elif args.scenario == "pages":
            pages_scenario(modules, args.plugins_dir)
        else:
            instance_scenario(modules, args.plugins_dir)
    print("scenario %s: ok" % args.scenario)


if __name__ == "__main__":
    main()
