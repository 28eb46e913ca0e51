// checksum: a wasmctl plugin in AssemblyScript (@extism/as-pdk, json-as).
//
// For every ConfigMap labelled checksum.wasmctl.dev/enabled=true it keeps two
// annotations, <prefix>/checksum (FNV-1a 64 of the data: each key and value
// in UTF-8, each followed by a NUL byte, keys in byte order) and <prefix>/keys
// (how many keys), with one merge patch and a Normal Event when they are
// missing or stale. <prefix> is the controller config's "prefix" (default
// checksum.wasmctl.dev).
//
// ../checksum.go is the same controller in Go; the tests check that both
// answer every request with the same bytes. Build: ./build.sh (npm ci, then
// asc with --use abort=assembly/checksum/abort: see abort below).

import { Host } from "@extism/as-pdk";
import { alloc, error_set, store_u8 } from "@extism/as-pdk/lib/env";
import { JSON } from "json-as";

const ABI_VERSION = "wasmctl.dev/v1alpha1";
const DEFAULT_PREFIX = "checksum.wasmctl.dev";

@json
class Metadata {
  @optional name: string = "";
  @optional namespace: string = "";
  @optional annotations: Map<string, string> = new Map<string, string>();
  @optional deletionTimestamp: string | null = null;
}

@json
class ConfigMap {
  @optional metadata: Metadata = new Metadata();
  @optional data: Map<string, string> = new Map<string, string>();
}

@json
class Config {
  @optional prefix: string = DEFAULT_PREFIX;
}

// The parts of the ReconcileRequest read here; the rest is skipped.
@json
class Request {
  @optional object: ConfigMap = new ConfigMap();
  @optional config: Config = new Config();
}

// abort replaces AssemblyScript's default, an import of env.abort that the
// host does not provide (asc --use abort=assembly/checksum/abort). It reports the
// message through Extism's error channel, then traps: the host shows the
// message in the failed call's error.
function abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let msg = message !== null ? message : "abort";
  msg += " at " + (fileName !== null ? fileName : "?") + ":" + line.toString() + ":" + column.toString();
  setError(msg);
  unreachable();
}

function setError(msg: string): void {
  const bytes = Uint8Array.wrap(String.UTF8.encode(msg));
  const off = alloc(<u64>bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    store_u8(off + <u64>i, bytes[i]);
  }
  error_set(off);
}

function output(s: string): void {
  // Not Host.outputString: as-pdk 1.0.0 sizes its output in UTF-16 units.
  Host.output(Uint8Array.wrap(String.UTF8.encode(s)));
}

export function describe(): i32 {
  output(
    '{"apiVersion":"' + ABI_VERSION + '","kind":"Manifest","name":"checksum","version":"0.1.0",' +
      '"abiVersion":"' + ABI_VERSION + '",' +
      '"for":{"apiVersion":"v1","kind":"ConfigMap"},' +
      '"selector":"checksum.wasmctl.dev/enabled=true","ignoreOwnWrites":true}',
  );
  return 0;
}

export function reconcile(): i32 {
  const req = JSON.parse<Request>(String.UTF8.decode(Host.input().buffer));
  const cm = req.object;
  if (cm.metadata.name.length == 0) {
    setError("object has no metadata.name");
    return 1;
  }
  let resp = '{"apiVersion":"' + ABI_VERSION + '","kind":"ReconcileResponse"';
  if (cm.metadata.deletionTimestamp === null) {
    const sum = checksum(cm.data);
    const keys = cm.data.size.toString();
    const sumKey = req.config.prefix + "/checksum";
    const keysKey = req.config.prefix + "/keys";
    const ann = cm.metadata.annotations;
    if (!ann.has(sumKey) || ann.get(sumKey) != sum || !ann.has(keysKey) || ann.get(keysKey) != keys) {
      let meta = '{"name":' + quote(cm.metadata.name);
      if (cm.metadata.namespace.length > 0) meta += ',"namespace":' + quote(cm.metadata.namespace);
      meta += "}";
      // Annotation keys in byte order, as Go's encoding/json writes a map.
      let first = sumKey, firstVal = sum, second = keysKey, secondVal = keys;
      if (compareBytes(utf8(keysKey), utf8(sumKey)) < 0) {
        first = keysKey;
        firstVal = keys;
        second = sumKey;
        secondVal = sum;
      }
      resp +=
        ',"actions":[{"op":"patch","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":' + meta + "}," +
        '"patchType":"merge","patch":{"metadata":{"annotations":{' +
        quote(first) + ":" + quote(firstVal) + "," + quote(second) + ":" + quote(secondVal) + "}}}}]" +
        ',"events":[{"type":"Normal","reason":"Checksummed","message":' +
        quote("data checksum " + sum + " over " + keys + " keys") + "}]";
    }
  }
  output(resp + "}");
  return 0;
}

class Entry {
  constructor(public key: string, public value: string, public keyBytes: Uint8Array) {}
}

function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function compareBytes(a: Uint8Array, b: Uint8Array): i32 {
  const n = min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] != b[i]) return <i32>a[i] - <i32>b[i];
  }
  return a.length - b.length;
}

// checksum is FNV-1a 64 over key NUL value NUL for every entry, keys in
// byte order (Go's sort.Strings), as 16 hex digits.
function checksum(data: Map<string, string>): string {
  const keys = data.keys();
  const entries = new Array<Entry>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    entries[i] = new Entry(keys[i], data.get(keys[i]), utf8(keys[i]));
  }
  entries.sort((a: Entry, b: Entry): i32 => compareBytes(a.keyBytes, b.keyBytes));
  let h: u64 = 0xcbf29ce484222325;
  for (let i = 0; i < entries.length; i++) {
    h = fnv(fnv(h, entries[i].keyBytes), null);
    h = fnv(fnv(h, utf8(entries[i].value)), null);
  }
  let hex = "";
  for (let shift = 60; shift >= 0; shift -= 4) {
    hex += "0123456789abcdef".charAt(<i32>((h >> <u64>shift) & 0xf));
  }
  return hex;
}

// fnv folds b, then a NUL byte when b is null.
function fnv(h: u64, b: Uint8Array | null): u64 {
  if (b === null) return (h ^ 0) * 0x100000001b3;
  for (let i = 0; i < b.length; i++) {
    h = (h ^ <u64>b[i]) * 0x100000001b3;
  }
  return h;
}

// quote writes s as a JSON string the way Go's encoding/json does: <, > and
// & as \u003c \u003e \u0026, U+2028 and U+2029 escaped, lone surrogates as
// U+FFFD.
function quote(s: string): string {
  const hex = "0123456789abcdef";
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == 0x22) esc = '\\"';
    else if (c == 0x5c) esc = "\\\\";
    else if (c == 0x0a) esc = "\\n";
    else if (c == 0x0d) esc = "\\r";
    else if (c == 0x09) esc = "\\t";
    else if (c == 0x08) esc = "\\b";
    else if (c == 0x0c) esc = "\\f";
    else if (c < 0x20 || c == 0x3c || c == 0x3e || c == 0x26 || c == 0x2028 || c == 0x2029) {
      esc = "\\u" + hex.charAt((c >> 12) & 0xf) + hex.charAt((c >> 8) & 0xf) + hex.charAt((c >> 4) & 0xf) + hex.charAt(c & 0xf);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++; // a pair: kept
        continue;
      }
      esc = "\ufffd";
    } else if (c >= 0xd800 && c <= 0xdfff) {
      esc = "\ufffd";
    }
    if (esc !== null) {
      out += s.substring(start, i) + esc;
      start = i + 1;
    }
  }
  return out + s.substring(start) + '"';
}
