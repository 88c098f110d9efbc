// A throwaway PKI for tests, made with the openssl CLI: a CA, a valid leaf,
// an expired leaf (signed by the same CA) and a self-signed leaf; `issueLeaf`
// signs more leaves (other names) with the same CA.
import { execFileSync } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestCert {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER certificate, lowercase hex without colons. */
  sha256: string;
}

export interface TestPki {
  dir: string;
  caFile: string;
  caPem: string;
  /** Valid leaf for the given names, IP SAN 127.0.0.1, signed by the CA. */
  leaf: TestCert;
  /** Leaf that expired in 2021, signed by the CA. */
  expired: TestCert;
  /** Self-signed leaf for the same names, not signed by the CA. */
  selfSigned: TestCert;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function readCert(dir: string, base: string): TestCert {
  const certFile = join(dir, `${base}.crt`);
  const keyFile = join(dir, `${base}.key`);
  const certPem = readFileSync(certFile, "utf8");
  const der = new X509Certificate(certPem).raw;
  return {
    certFile,
    keyFile,
    certPem,
    keyPem: readFileSync(keyFile, "utf8"),
    sha256: createHash("sha256").update(der).digest("hex"),
  };
}

/** Creates the PKI in `dir` (created if missing). `names` become DNS SANs; the first is the CN. */
export function createTestPki(dir: string, names: string[] = ["pop.test", "localhost"]): TestPki {
  mkdirSync(dir, { recursive: true });
  const san = [...names.map((n) => `DNS:${n}`), "IP:127.0.0.1"].join(",");
  const cn = names[0] ?? "pop.test";

  // biome-ignore format: options laid out in flag/value pairs, grouped by purpose
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=popwatch test CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);

  const extFile = join(dir, "leaf.ext");
  writeFileSync(extFile, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  for (const base of ["leaf", "expired"]) {
    // biome-ignore format: options laid out in flag/value pairs, grouped by purpose
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", `/CN=${cn}`], dir);
  }
  // biome-ignore format: options laid out in flag/value pairs, grouped by purpose
  openssl(["x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", "leaf.crt", "-days", "2", "-extfile", "leaf.ext"], dir);

  // `openssl x509 -req` in OpenSSL 3.0 cannot back-date; `openssl ca` can.
  mkdirSync(join(dir, "ca-db"), { recursive: true });
  writeFileSync(join(dir, "ca-db", "index.txt"), "");
  writeFileSync(join(dir, "ca-db", "serial"), "1000\n");
  // biome-ignore format: the config file's lines grouped by section, as the file reads
  writeFileSync(join(dir, "ca.cnf"), [
    "[ca]", "default_ca=test", "[test]", "dir=ca-db", "database=$dir/index.txt", "serial=$dir/serial",
    "new_certs_dir=$dir", "default_md=sha256", "policy=any", "copy_extensions=none", "unique_subject=no",
    "[any]", "commonName=supplied", "",
  ].join("\n"));
  // biome-ignore format: options laid out in flag/value pairs, grouped by purpose
  openssl(["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", "expired.csr",
    "-out", "expired.crt", "-notext", "-startdate", "20200101000000Z", "-enddate", "20210101000000Z",
    "-extfile", "leaf.ext"], dir);

  // biome-ignore format: options laid out in flag/value pairs, grouped by purpose
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", "self.key", "-out", "self.crt", "-days", "2", "-subj", `/CN=${cn}`, "-addext", `subjectAltName=${san}`], dir);

  return {
    dir,
    caFile: join(dir, "ca.crt"),
    caPem: readFileSync(join(dir, "ca.crt"), "utf8"),
    leaf: readCert(dir, "leaf"),
    expired: readCert(dir, "expired"),
    selfSigned: readCert(dir, "self"),
  };
}

/**
 * Another leaf signed by `pki`'s CA, valid for two days, with exactly the
 * subjectAltName entries `sans` (e.g. "DNS:wrong.test", "IP:::1"); files
 * `<base>.crt` and `<base>.key` in the PKI's directory.
 */
export function issueLeaf(pki: TestPki, base: string, sans: string[]): TestCert {
  const extFile = `${base}.ext`;
  writeFileSync(join(pki.dir, extFile), `subjectAltName=${sans.join(",")}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  const cn = (sans.find((s) => s.startsWith("DNS:")) ?? "DNS:popwatch test leaf").slice(4);
  // biome-ignore format: options laid out in flag/value pairs, grouped by purpose
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", `/CN=${cn}`], pki.dir);
  // biome-ignore format: options laid out in flag/value pairs, grouped by purpose
  openssl(["x509", "-req", "-in", `${base}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", `${base}.crt`, "-days", "2", "-extfile", extFile], pki.dir);
  return readCert(pki.dir, base);
}
