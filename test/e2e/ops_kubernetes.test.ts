/**
 * deploy/kubernetes: `kubectl apply -k` must never replace the operator's real
 * Secret. The kustomization is read (its top-level keys and lists; there is no
 * kubectl here) and every resource it names is checked: none is a Secret, and
 * there is no secretGenerator. The Secret the Deployment mounts is the one the
 * documented `kubectl create secret` makes, with every file the ConfigMap's
 * broker.conf reads from it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Compiled to build/test/e2e/; deploy/ stays in the source tree.
const DEPLOY = fileURLToPath(new URL("../../../deploy/", import.meta.url));
const K8S = `${DEPLOY}kubernetes/`;

/** The top-level keys of a kustomization and the items of each block list (`key:` then `  - item`). */
function topLevel(yaml: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of yaml.split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").trimEnd();
    if (line === "" || line.startsWith("#")) continue;
    const key = /^([A-Za-z][\w-]*):\s*(.*)$/.exec(line);
    if (key) {
      current = key[2] === "" ? [] : [key[2]!];
      out.set(key[1]!, current);
      continue;
    }
    const item = /^\s+-\s+(.+)$/.exec(line);
    assert.ok(item && current, `unexpected line in the kustomization: ${JSON.stringify(raw)}`);
    current.push(item[1]!.trim());
  }
  return out;
}

/** The `kind:` of each YAML document in a file. */
function kinds(yaml: string): string[] {
  return yaml.split(/^---\s*$/m).map((doc) => /^kind:\s*(\S+)/m.exec(doc)?.[1] ?? "(none)");
}

test("kubectl apply -k applies no Secret: the kustomization names none and generates none", () => {
  const k = topLevel(readFileSync(`${K8S}kustomization.yaml`, "utf8"));
  assert.deepEqual(k.get("kind"), ["Kustomization"]);
  const resources = k.get("resources") ?? [];
  assert.ok(resources.length >= 4, `resources: ${resources.join(", ")}`);
  for (const key of ["secretGenerator", "generators", "components", "bases"]) assert.equal(k.has(key), false, `${key} in the kustomization`);
  const all: string[] = [];
  for (const r of resources) {
    assert.ok(existsSync(`${K8S}${r}`), `resource ${r} exists`);
    all.push(...kinds(readFileSync(`${K8S}${r}`, "utf8")));
  }
  assert.ok(all.includes("Deployment") && all.includes("ConfigMap") && all.includes("Service"), all.join(", "));
  assert.equal(all.includes("Secret"), false, `a Secret among ${all.join(", ")}`);
  // No stray manifest with a Secret lies next to it for `kubectl apply -f deploy/kubernetes/` either.
  for (const f of readdirSync(K8S).filter((n) => n.endsWith(".yaml"))) {
    assert.equal(kinds(readFileSync(`${K8S}${f}`, "utf8")).includes("Secret"), false, `${f} holds a Secret`);
  }
});

test("the documented kubectl create secret makes the Secret the Deployment mounts, with every file broker.conf reads", () => {
  const deployment = readFileSync(`${K8S}deployment.yaml`, "utf8");
  const secretName = /secret:\s*\n\s+secretName:\s*(\S+)/.exec(deployment)?.[1];
  const mount = /- name: tls\s*\n\s+mountPath:\s*(\S+)/.exec(deployment)?.[1];
  assert.ok(secretName && mount, "the Deployment mounts a Secret volume named tls");
  const configmap = readFileSync(`${K8S}configmap.yaml`, "utf8");
  const read = [...configmap.matchAll(new RegExp(`${mount}/([\\w.-]+)`, "g"))].map((m) => m[1]!);
  assert.ok(read.length >= 3, `files read from ${mount}: ${read.join(", ")}`);
  for (const doc of [readFileSync(`${DEPLOY}README.md`, "utf8"), readFileSync(`${K8S}kustomization.yaml`, "utf8")]) {
    const cmd = /kubectl create secret generic (\S+)((?:\s*\\?\s*#?\s*--from-file=\S+)+)/.exec(doc);
    assert.ok(cmd, "a kubectl create secret command is documented");
    assert.equal(cmd[1], secretName);
    const keys = [...cmd[2]!.matchAll(/--from-file=([^=\s]+)=/g)].map((m) => m[1]!);
    assert.deepEqual([...new Set(read)].sort(), [...keys].sort());
  }
});
