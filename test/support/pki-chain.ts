// A three-level test PKI made with the openssl CLI: root CA → intermediate →
// leaf, the intermediate expiring before the leaf (the outage certMinDays is
// for), plus the hostile chains a server could send: a long one and a loop.
import { execFileSync } from "node:child_process";
import { X509Certificate, createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ChainCert {
  certFile: string;
  certPem: string;
  /** One-line subject as the probes report it (`CN=...`). */
  subject: string;
  /** notAfter, ISO 8601. */
  notAfter: string;
  /** SHA-256 of the DER, lowercase hex. */
  sha256: string;
}

export interface ChainPki {
  dir: string;
  root: ChainCert;
  intermediate: ChainCert;
  leaf: ChainCert & { keyFile: string; keyPem: string };
  /** Leaf then intermediate: what a server sends (the root stays with the client). */
  fullChainFile: string;
  fullChainPem: string;
  /** Days each certificate is valid from now. */
  days: { root: number; intermediate: number; leaf: number };
}

export interface ChainPkiOptions {
  /** DNS SANs of the leaf; the first is its CN. IP SANs 127.0.0.1 and ::1 are always added. */
  names?: string[];
  rootDays?: number;
  intermediateDays?: number;
  leafDays?: number;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function newKey(cwd: string, keyFile: string): void {
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyFile], cwd);
}

function readChainCert(dir: string, certFile: string): ChainCert {
  const path = join(dir, certFile);
  const certPem = readFileSync(path, "utf8");
  const x509 = new X509Certificate(certPem);
  return {
    certFile: path,
    certPem,
    subject: x509.subject.replace(/\n/g, ", "),
    notAfter: new Date(x509.validTo).toISOString(),
    sha256: createHash("sha256").update(x509.raw).digest("hex"),
  };
}

const CA_EXT =
  "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";

/**
 * Signs `o.key` (default `<base>.key`) under `o.subject` with the issuer's certificate and key. `openssl x509
 * -req` lets a certificate outlive its issuer, which is the point here.
 */
function sign(
  dir: string,
  o: { base: string; key?: string; subject: string; issuerCert: string; issuerKey: string; days: number; ext: string },
): void {
  openssl(["req", "-new", "-key", o.key ?? `${o.base}.key`, "-out", `${o.base}.csr`, "-subj", o.subject], dir);
  writeFileSync(join(dir, `${o.base}.ext`), o.ext);
  // biome-ignore format: options laid out in flag/value pairs
  openssl(["x509", "-req", "-in", `${o.base}.csr`, "-CA", o.issuerCert, "-CAkey", o.issuerKey, "-set_serial", `0x${randomBytes(8).toString("hex")}`,
    "-out", `${o.base}.crt`, "-days", String(o.days), "-sha256", "-extfile", `${o.base}.ext`], dir);
}

/** Creates the chain in `dir` (created if missing). Defaults: root 30 days, intermediate 5, leaf 60. */
export function createChainPki(dir: string, options: ChainPkiOptions = {}): ChainPki {
  mkdirSync(dir, { recursive: true });
  const names = options.names ?? ["chain.pop.test", "localhost"];
  const days = { root: options.rootDays ?? 30, intermediate: options.intermediateDays ?? 5, leaf: options.leafDays ?? 60 };
  const san = [...names.map((n) => `DNS:${n}`), "IP:127.0.0.1", "IP:::1"].join(",");

  newKey(dir, "root.key");
  // biome-ignore format: options laid out in flag/value pairs
  openssl(["req", "-x509", "-key", "root.key", "-out", "root.crt", "-days", String(days.root), "-subj", "/CN=popwatch chain test root",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  newKey(dir, "intermediate.key");
  sign(dir, {
    base: "intermediate",
    subject: "/CN=popwatch chain test intermediate",
    issuerCert: "root.crt",
    issuerKey: "root.key",
    days: days.intermediate,
    ext: CA_EXT.replace("CA:TRUE", "CA:TRUE,pathlen:0"),
  });
  newKey(dir, "leaf.key");
  sign(dir, {
    base: "leaf",
    subject: `/CN=${names[0] ?? "chain.pop.test"}`,
    issuerCert: "intermediate.crt",
    issuerKey: "intermediate.key",
    days: days.leaf,
    ext: `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
  });

  const leaf = readChainCert(dir, "leaf.crt");
  const intermediate = readChainCert(dir, "intermediate.crt");
  const fullChainPem = leaf.certPem + intermediate.certPem;
  const fullChainFile = join(dir, "fullchain.crt");
  writeFileSync(fullChainFile, fullChainPem);
  return {
    dir,
    root: readChainCert(dir, "root.crt"),
    intermediate,
    leaf: { ...leaf, keyFile: join(dir, "leaf.key"), keyPem: readFileSync(join(dir, "leaf.key"), "utf8") },
    fullChainFile,
    fullChainPem,
    days,
  };
}

/**
 * `count` CA certificates, each issuing the next, the last issuing a leaf:
 * PEM of the leaf first, then the CAs nearest the leaf first. A chain far
 * longer than any deployment's, for a server to send. One key serves every
 * certificate (the signatures still link): a key per CA only costs time.
 */
export function createLongChain(dir: string, count: number, leafName = "long.pop.test"): { keyPem: string; chainPem: string } {
  mkdirSync(dir, { recursive: true });
  newKey(dir, "long.key");
  openssl(["req", "-x509", "-key", "long.key", "-out", "ca0.crt", "-days", "2", "-subj", "/CN=long chain 0"], dir);
  for (let i = 1; i < count; i++) {
    // One openssl run per CA (req signs with -CA; its default CA extensions suit these).
    // biome-ignore format: options laid out in flag/value pairs
    openssl(["req", "-new", "-key", "long.key", "-subj", `/CN=long chain ${i}`, "-CA", `ca${i - 1}.crt`, "-CAkey", "long.key",
      "-days", "2", "-out", `ca${i}.crt`], dir);
  }
  sign(dir, {
    base: "long-leaf",
    key: "long.key",
    subject: `/CN=${leafName}`,
    issuerCert: `ca${count - 1}.crt`,
    issuerKey: "long.key",
    days: 2,
    ext: `subjectAltName=DNS:${leafName}\n`,
  });
  const pems = [readFileSync(join(dir, "long-leaf.crt"), "utf8")];
  for (let i = count - 1; i >= 0; i--) pems.push(readFileSync(join(dir, `ca${i}.crt`), "utf8"));
  return { keyPem: readFileSync(join(dir, "long.key"), "utf8"), chainPem: pems.join("") };
}

/**
 * Two CAs that each issued the other (A by B, B by A) and a leaf issued by A:
 * PEM of leaf, A, B, A, B — a chain whose issuer links go round in a circle.
 */
export function createLoopingChain(dir: string, leafName = "loop.pop.test"): { keyPem: string; chainPem: string } {
  mkdirSync(dir, { recursive: true });
  for (const name of ["a", "b"]) {
    newKey(dir, `loop-${name}.key`);
    // Self-signed stand-ins, only to sign the real pair with.
    // biome-ignore format: options laid out in flag/value pairs
    openssl(["req", "-x509", "-key", `loop-${name}.key`, "-out", `loop-${name}-self.crt`, "-days", "2",
      "-subj", `/CN=loop ${name}`], dir);
  }
  sign(dir, { base: "loop-a", subject: "/CN=loop a", issuerCert: "loop-b-self.crt", issuerKey: "loop-b.key", days: 2, ext: CA_EXT });
  sign(dir, { base: "loop-b", subject: "/CN=loop b", issuerCert: "loop-a-self.crt", issuerKey: "loop-a.key", days: 2, ext: CA_EXT });
  newKey(dir, "loop-leaf.key");
  sign(dir, {
    base: "loop-leaf",
    subject: `/CN=${leafName}`,
    issuerCert: "loop-a.crt",
    issuerKey: "loop-a.key",
    days: 2,
    ext: `subjectAltName=DNS:${leafName}\n`,
  });
  const a = readFileSync(join(dir, "loop-a.crt"), "utf8");
  const b = readFileSync(join(dir, "loop-b.crt"), "utf8");
  return {
    keyPem: readFileSync(join(dir, "loop-leaf.key"), "utf8"),
    chainPem: readFileSync(join(dir, "loop-leaf.crt"), "utf8") + a + b + a + b,
  };
}
