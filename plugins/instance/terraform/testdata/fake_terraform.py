#!/usr/bin/env python3
"""A stand-in for the terraform CLI, for tests and the example: NOT Terraform.

It follows the part of Terraform's documented CLI and state contract that instance-terraform
relies on, with a pretend provider that creates every resource at once and keeps its body as its
attributes:

  terraform init [-input=false] [-no-color]
      Creates .terraform/ in the working directory. Exit 0.
  terraform apply -auto-approve [-input=false] [-no-color]
      Reads every *.tf.json of the working directory (Terraform's JSON syntax: a top-level
      "resource": {TYPE: {NAME: BODY}}; a top-level "//" is a comment; *.tf files are ignored:
      this stand-in does not read HCL), takes the state lock (.terraform.tfstate.lock.info),
      creates the resources missing from terraform.tfstate, updates the changed ones, destroys
      the ones no longer configured, and writes terraform.tfstate (state format version 4) with
      what succeeded. Exit 0, or 1 when any resource failed (partial failure: the others are
      applied) with one diagnostic per failure on stderr, as Terraform prints them:
          Error: <summary>

            with <TYPE>.<NAME>,
            on <file> line 1, in resource "<TYPE>" "<NAME>":
      Without -auto-approve it fails (there is no one to answer the prompt).
  terraform show -json
      Prints the state in Terraform's JSON output format: {"format_version": "1.0",
      "terraform_version", "values": {"root_module": {"resources": [{"address", "mode", "type",
      "name", "provider_name", "schema_version", "values", "sensitive_values"}]}}}, or just
      {"format_version": "1.0"} when nothing was ever applied.
  terraform version
      Prints the stand-in's version.

How a resource fails (the pretend provider's behaviour, for tests):
  - a body attribute "fake_fail": "<message>" makes its creation or update fail with <message>;
  - "fake_fail_while_exists": "<path>" fails it while that file exists;
  - the environment variable FAKE_TERRAFORM_FAIL="<message>" fails the whole apply before any
    change, with a diagnostic that names no resource (like a provider that cannot authenticate).
Other environment variables: FAKE_TERRAFORM_LOG=<file> appends one line per command run
("apply", "show", ...); FAKE_TERRAFORM_APPLY_SECONDS=<s> makes each apply take that long.
"""

import fcntl
import glob
import json
import os
import sys
import time
import uuid

VERSION = "1.5.7"
STATE = "terraform.tfstate"
LOCK = ".terraform.tfstate.lock.info"


def log(command):
    path = os.environ.get("FAKE_TERRAFORM_LOG")
    if path:
        with open(path, "a") as f:
            f.write(command + "\n")


def diagnostic(summary, address=None, file_name=None):
    lines = ["", "Error: " + summary, ""]
    if address:
        rtype, name = address.split(".", 1)
        lines.append("  with %s," % address)
        lines.append('  on %s line 1, in resource "%s" "%s":' % (file_name, rtype, name))
        lines.append("")
    sys.stderr.write("\n".join(lines) + "\n")


def read_config():
    """address -> (type, name, body, file); raises ValueError with a diagnostic's summary."""
    resources = {}
    for path in sorted(glob.glob("*.tf.json")):
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise ValueError("Invalid JSON in %s: %s" % (path, e))
        if not isinstance(doc, dict):
            raise ValueError("Invalid JSON configuration in %s: not an object" % path)
        for rtype, by_name in (doc.get("resource") or {}).items():
            for name, body in by_name.items():
                address = "%s.%s" % (rtype, name)
                if address in resources:
                    raise ValueError('Duplicate resource "%s" configuration' % address)
                resources[address] = (rtype, name, body if isinstance(body, dict) else {}, path)
    return resources


def read_state():
    if not os.path.exists(STATE):
        return None
    with open(STATE) as f:
        return json.load(f)


def state_resources(state):
    """address -> (type, name, attributes)."""
    out = {}
    for r in (state or {}).get("resources", []):
        if r.get("mode") != "managed" or not r.get("instances"):
            continue
        out["%s.%s" % (r["type"], r["name"])] = (r["type"], r["name"],
                                                 r["instances"][0]["attributes"])
    return out


def write_state(state, resources):
    state = state or {"version": 4, "terraform_version": VERSION, "serial": 0,
                      "lineage": str(uuid.uuid4()), "outputs": {}}
    state["serial"] = state.get("serial", 0) + 1
    state["resources"] = [{
        "mode": "managed", "type": rtype, "name": name,
        "provider": 'provider["registry.terraform.io/hashicorp/%s"]' % rtype.split("_")[0],
        "instances": [{"schema_version": 0, "attributes": attributes}],
    } for _, (rtype, name, attributes) in sorted(resources.items())]
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=2)
    os.replace(tmp, STATE)


def failure_of(body):
    if isinstance(body.get("fake_fail"), str):
        return body["fake_fail"]
    path = body.get("fake_fail_while_exists")
    if isinstance(path, str) and os.path.exists(path):
        return "fake_fail_while_exists: %s exists" % path
    return None


def apply_changes(config, current, out):
    """Applies config over current (both by address); returns (new state, errors, counts)."""
    result = dict(current)
    errors = []
    added = changed = destroyed = 0
    for address in sorted(current):
        if address not in config:
            out.write("%s: Destroying...\n%s: Destruction complete after 0s\n" % (address, address))
            del result[address]
            destroyed += 1
    for address, (rtype, name, body, path) in sorted(config.items()):
        old = current.get(address)
        attributes = dict(body)
        attributes["id"] = old[2]["id"] if old else "fake-" + uuid.uuid4().hex[:12]
        if old and old[2] == attributes:
            continue
        verb = "Modifying" if old else "Creating"
        out.write("%s: %s...\n" % (address, verb))
        failure = failure_of(body)
        if failure:
            errors.append((failure, address, path))
            continue
        result[address] = (rtype, name, attributes)
        if old:
            changed += 1
        else:
            added += 1
        out.write("%s: %s complete after 0s [id=%s]\n" %
                  (address, "Modifications" if old else "Creation", attributes["id"]))
    return result, errors, (added, changed, destroyed)


def apply(args):
    if "-auto-approve" not in args:
        diagnostic("No value for required input: this stand-in cannot prompt; use -auto-approve")
        return 1
    seconds = float(os.environ.get("FAKE_TERRAFORM_APPLY_SECONDS", "0") or 0)
    with open(LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            diagnostic("Error acquiring the state lock")
            return 1
        if seconds > 0:
            time.sleep(seconds)
        try:
            config = read_config()
        except ValueError as e:
            diagnostic(str(e))
            return 1
        whole = os.environ.get("FAKE_TERRAFORM_FAIL")
        if whole:
            diagnostic(whole)
            return 1
        state = read_state()
        result, errors, (added, changed, destroyed) = apply_changes(
            config, state_resources(state), sys.stdout)
        write_state(state, result)
        for failure, address, path in errors:
            diagnostic(failure, address, path)
        if errors:
            return 1
        print("\nApply complete! Resources: %d added, %d changed, %d destroyed." %
              (added, changed, destroyed))
        return 0


def show(args):
    state = read_state()
    if "-json" not in args:
        for address, (_, _, attributes) in sorted(state_resources(state).items()):
            print("# %s:\n%s\n" % (address, json.dumps(attributes, indent=2)))
        return 0
    doc = {"format_version": "1.0"}
    if state is not None:
        doc["terraform_version"] = VERSION
        doc["values"] = {"root_module": {"resources": [{
            "address": address, "mode": "managed", "type": rtype, "name": name,
            "provider_name": "registry.terraform.io/hashicorp/%s" % rtype.split("_")[0],
            "schema_version": 0, "values": attributes, "sensitive_values": {},
        } for address, (rtype, name, attributes) in sorted(state_resources(state).items())]}}
    print(json.dumps(doc))
    return 0


def main(argv):
    if not argv:
        sys.stderr.write("Usage: terraform [global options] <subcommand> [args]\n")
        return 1
    command, args = argv[0], argv[1:]
    log(command)
    if command == "version" or command == "-version":
        print("Terraform v%s (instance-terraform's test stand-in, not Terraform)" % VERSION)
        return 0
    if command == "init":
        os.makedirs(".terraform", exist_ok=True)
        print("Terraform has been successfully initialized!")
        return 0
    if command == "apply":
        return apply(args)
    if command == "show":
        return show(args)
    sys.stderr.write('Terraform has no command named "%s".\n' % command)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
