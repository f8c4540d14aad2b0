#!/usr/bin/env node
// A client of InfraKit's gRPC contracts written as a Node user would write it: @grpc/grpc-js and
// @grpc/proto-loader (pinned in package.json and package-lock.json beside this file), the protos
// loaded from proto/ at run time. Two scenarios, each against plugins already serving in
// --plugins-dir:
//
//   group     WatchGroup a group of two instance-file instances under flavor-vanilla, wait with
//             InspectGroup until it has converged, DescribeUpdate and UpdateGroup to a changed
//             spec following the stream to COMPLETED, then DestroyGroup.
//   instance  Watch instance-file's instances with a tag filter, Provision twice with the same
//             idempotency key (one instance), see it ADDED on the stream, Destroy it, see it
//             REMOVED, and the NOT_FOUND of a second Destroy.
//
// Every step prints one line; any unexpected answer throws, and the script exits non-zero.
//
// Usage: node interop_client.js --plugins-dir DIR --proto-dir PROTO SCENARIO
// with the packages installed (npm ci) in a node_modules that require() finds (NODE_PATH).
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// Generous: the machine may be shared; a condition that holds is seen within milliseconds.
const WAIT_MS = 60000;
// Every unary call's deadline.
const CALL_MS = 30000;

const PROTOS = [
  'infrakit/plugin/v1/plugin.proto',
  'infrakit/instance/v1/instance.proto',
  'infrakit/flavor/v1/flavor.proto',
  'infrakit/group/v1/group.proto',
];

function check(condition, what) {
  if (!condition) throw new Error(what);
}

function deadline(ms) {
  return new Date(Date.now() + ms);
}

function load(protoDir) {
  // Field names as in the protos (snake_case), enums by name, 64-bit integers as strings.
  // google/protobuf/struct.proto and timestamp.proto come with protobufjs.
  const definition = protoLoader.loadSync(PROTOS, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [protoDir],
  });
  const loaded = grpc.loadPackageDefinition(definition);
  console.log(`loaded ${PROTOS.length} protos`);
  return loaded.infrakit;
}

// A unary call as a promise, with a deadline.
function call(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: deadline(CALL_MS) }, (error, response) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}

// A unary call that must fail with `code`; resolves to the error.
async function callFails(client, method, request, code) {
  try {
    const response = await call(client, method, request);
    throw new Error(`${method} succeeded: ${JSON.stringify(response)}`);
  } catch (error) {
    check(error.code === code, `${method}: expected code ${code}, got ${error.code} ${error.message}`);
    return error;
  }
}

function codeName(code) {
  return Object.keys(grpc.status).find((name) => grpc.status[name] === code);
}

// Evaluates `condition` (async) until it returns a truthy value (returned) or WAIT_MS pass.
async function waitFor(condition, what) {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Buffers a server stream's messages so that the test can wait for them with deadlines.
class StreamReader {
  constructor(stream) {
    this.stream = stream;
    this.items = [];
    this.waiter = null;
    const push = (item) => {
      this.items.push(item);
      if (this.waiter) this.waiter();
    };
    stream.on('data', (message) => push({ message }));
    stream.on('error', (error) => push({ error }));
    stream.on('end', () => push({ end: true }));
  }

  async item(what) {
    const end = Date.now() + WAIT_MS;
    while (this.items.length === 0) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.items.shift();
  }

  // The next message; throws on a timeout, on the end of the stream, or its error.
  async next(what) {
    const item = await this.item(what);
    if (item.error) throw new Error(`stream failed while waiting for ${what}: ${item.error.message}`);
    if (item.end) throw new Error(`stream ended while waiting for ${what}`);
    return item.message;
  }

  // Every remaining message until the end of the stream (which must come in time).
  async rest() {
    const out = [];
    for (;;) {
      const item = await this.item('the end of the stream');
      if (item.error) throw new Error(`stream failed: ${item.error.message}`);
      if (item.end) return out;
      out.push(item.message);
    }
  }
}

function target(pluginsDir, name) {
  return `unix://${path.resolve(pluginsDir, name + '.sock')}`;
}

async function checkInfo(ik, pluginsDir, name, kind) {
  const client = new ik.plugin.v1.PluginService(
    target(pluginsDir, name), grpc.credentials.createInsecure());
  const info = await call(client, 'Info', {});
  check(info.name === name, `Info.name is ${info.name}, not ${name}`);
  check(info.kind === kind, `Info.kind of ${name} is ${info.kind}`);
  console.log(`Info: ${name} is ${info.kind} (${info.binary})`);
  client.close();
}

// A google.protobuf.Value as proto-loader wants it, from a plain JSON value. The well-known types
// come from protobufjs's own definitions, whose field names are camelCase whatever keepCase says
// (stringValue, not string_value): a snake_case name would be dropped silently.
function toValue(v) {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === 'object') return { structValue: toStruct(v) };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  throw new Error(`no Struct value for ${typeof v}`);
}

function toStruct(object) {
  const fields = {};
  for (const [k, v] of Object.entries(object)) fields[k] = toValue(v);
  return { fields };
}

function groupSpec(note) {
  return {
    id: 'interop',
    instance: { plugin: 'instance-file', properties: toStruct({ Note: note }) },
    flavor: {
      plugin: 'flavor-vanilla',
      properties: toStruct({ Init: [`echo ${note}`], Tags: { client: 'node' } }),
    },
    allocation: { size: 2 },
  };
}

async function groupScenario(ik, pluginsDir) {
  await checkInfo(ik, pluginsDir, 'group', 'PLUGIN_KIND_GROUP');
  const stub = new ik.group.v1.GroupService(
    target(pluginsDir, 'group'), grpc.credentials.createInsecure());

  const watched = await call(stub, 'WatchGroup', { spec: groupSpec('v1') });
  check(watched.message === 'watching interop', `WatchGroup said ${watched.message}`);
  check(watched.config_sha, 'WatchGroup returned no config_sha');
  console.log(`WatchGroup: ${watched.message} (config ${watched.config_sha})`);

  const again = await callFails(stub, 'WatchGroup', { spec: groupSpec('v1') },
    grpc.status.ALREADY_EXISTS);
  console.log(`WatchGroup again: ${codeName(again.code)}`);

  const converged = async (sha) => {
    const r = await call(stub, 'InspectGroup', { id: 'interop' });
    const onSha = r.members.filter((m) => m.tags['infrakit.config_sha'] === sha);
    const ok = r.status.converged && !r.status.updating && r.members.length === 2 &&
      onSha.length === 2 && r.status.config_sha === sha;
    return ok ? r : null;
  };

  const inspected = await waitFor(() => converged(watched.config_sha), 'the group to converge');
  for (const member of inspected.members) {
    check(member.tags['infrakit.group'] === 'interop', `member ${member.id} tags`);
    check(member.tags.client === 'node', `member ${member.id} lacks the flavor's tag`);
  }
  console.log(`InspectGroup: ${inspected.members.length} members, desired ` +
    `${inspected.status.desired}, converged`);

  const listed = await call(stub, 'ListGroups', {});
  check(listed.groups.length === 1 && listed.groups[0].spec.id === 'interop',
    `ListGroups: ${JSON.stringify(listed)}`);
  console.log('ListGroups: interop');

  const v2 = groupSpec('v2');
  const { plan } = await call(stub, 'DescribeUpdate', { spec: v2 });
  check(plan.replaces === '2', `DescribeUpdate plan: ${JSON.stringify(plan)}`);
  check(plan.summary.startsWith('Performs a rolling update of 2 instances'),
    `DescribeUpdate summary ${plan.summary}`);
  console.log(`DescribeUpdate: ${plan.summary}`);

  const updates = new StreamReader(
    stub.UpdateGroup({ spec: v2 }, { deadline: deadline(WAIT_MS) }));
  const first = await updates.next("the update's first message");
  check(first.phase === 'UPDATE_PHASE_STARTED', `first update message: ${JSON.stringify(first)}`);
  const rest = await updates.rest();
  check(rest.length > 0, 'the update stream ended after STARTED');
  const last = rest[rest.length - 1];
  check(last.phase === 'UPDATE_PHASE_COMPLETED', `last update message: ${JSON.stringify(last)}`);
  check(last.updated === '2' && last.total === '2', `COMPLETED counts: ${JSON.stringify(last)}`);
  check(rest.slice(0, -1).every((r) => r.phase === 'UPDATE_PHASE_PROGRESS'),
    `phases: ${rest.map((r) => r.phase)}`);
  check(last.status.config_sha === plan.config_sha,
    `COMPLETED on config ${last.status.config_sha}`);
  console.log(`UpdateGroup: STARTED, ${rest.length - 1} PROGRESS, COMPLETED ` +
    `(${last.updated}/${last.total} updated)`);
  await waitFor(() => converged(plan.config_sha), 'the group to converge on the new config');
  console.log(`InspectGroup: converged on ${plan.config_sha}`);

  const destroyed = await call(stub, 'DestroyGroup', { id: 'interop' });
  check(destroyed.destroyed === '2', `DestroyGroup destroyed ${destroyed.destroyed}`);
  console.log(`DestroyGroup: ${destroyed.destroyed} destroyed`);

  const gone = await callFails(stub, 'InspectGroup', { id: 'interop' }, grpc.status.NOT_FOUND);
  console.log(`InspectGroup after DestroyGroup: ${codeName(gone.code)}`);
  stub.close();
}

async function instanceScenario(ik, pluginsDir) {
  await checkInfo(ik, pluginsDir, 'instance-file', 'PLUGIN_KIND_INSTANCE');
  const stub = new ik.instance.v1.InstanceService(
    target(pluginsDir, 'instance-file'), grpc.credentials.createInsecure());
  const tags = { client: 'node', scenario: 'instance' };

  const watchCall = stub.Watch({ tags }, { deadline: deadline(2 * WAIT_MS) });
  const watch = new StreamReader(watchCall);
  const synced = await watch.next('SYNCED');
  check(synced.type === 'EVENT_TYPE_SYNCED', `the first event of an empty set: ${synced.type}`);
  console.log('Watch: SYNCED');

  const spec = {
    tags,
    init: 'echo hello',
    idempotency_key: 'interop-node-1',
    properties: toStruct({ Note: 'from node' }),
  };
  const first = await call(stub, 'Provision', { spec });
  check(first.id && first.created, `first Provision: ${JSON.stringify(first)}`);
  const again = await call(stub, 'Provision', { spec });
  check(again.id === first.id && !again.created, `retried Provision: ${JSON.stringify(again)}`);
  console.log(`Provision: ${first.id} created, the retry with the same key returned it ` +
    '(created=false)');

  const added = await watch.next('ADDED');
  check(added.type === 'EVENT_TYPE_ADDED' && added.instance.id === first.id,
    `event: ${JSON.stringify(added)}`);
  console.log(`Watch: ADDED ${added.instance.id}`);

  const described = await call(stub, 'Describe', { tags, include_properties: true });
  check(described.instances.length === 1 && described.instances[0].id === first.id,
    `Describe: ${JSON.stringify(described)}`);
  const d = described.instances[0];
  check(d.spec.properties.fields.Note.stringValue === 'from node',
    `Describe properties: ${JSON.stringify(d.spec.properties)}`);
  check(d.spec.init === 'echo hello', `Describe init: ${d.spec.init}`);
  console.log(`Describe: ${d.id} with its spec`);

  await call(stub, 'Destroy', { id: first.id, reason: 'DESTROY_REASON_TERMINATE' });
  console.log(`Destroy: ${first.id}`);
  // A CHANGED event may come before the removal (e.g. the state going to TERMINATING).
  let event;
  for (;;) {
    event = await watch.next('REMOVED');
    if (event.type === 'EVENT_TYPE_REMOVED') break;
    check(event.type === 'EVENT_TYPE_CHANGED' && event.instance.id === first.id,
      `event before REMOVED: ${JSON.stringify(event)}`);
  }
  check(event.instance.id === first.id, `REMOVED: ${JSON.stringify(event)}`);
  console.log(`Watch: REMOVED ${event.instance.id}`);

  const gone = await callFails(stub, 'Destroy', { id: first.id }, grpc.status.NOT_FOUND);
  console.log(`Destroy again: ${codeName(gone.code)}`);
  watchCall.cancel();
  stub.close();
}

function parseArgs(argv) {
  const args = { pluginsDir: null, protoDir: null, scenario: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--plugins-dir') args.pluginsDir = argv[++i];
    else if (argv[i] === '--proto-dir') args.protoDir = argv[++i];
    else args.scenario = argv[i];
  }
  if (!args.pluginsDir || !args.protoDir || !['group', 'instance'].includes(args.scenario)) {
    throw new Error('usage: node interop_client.js --plugins-dir DIR --proto-dir PROTO ' +
      'group|instance');
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ik = load(args.protoDir);
  if (args.scenario === 'group') await groupScenario(ik, args.pluginsDir);
  else await instanceScenario(ik, args.pluginsDir);
  console.log(`scenario ${args.scenario}: ok`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`FAILED: ${error.stack || error}`);
    process.exit(1);
  });
