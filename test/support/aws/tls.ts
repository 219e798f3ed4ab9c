// A throwaway TLS certificate for 127.0.0.1, made at run time with openssl (the stand-ins speak https like AWS).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A self-signed certificate for 127.0.0.1 and where its PEM lies (for `NODE_EXTRA_CA_CERTS`). */
export interface LoopbackCertificate {
  readonly key: string;
  readonly cert: string;
  /** A file holding `cert`, for child processes to trust it. */
  readonly caFile: string;
  remove(): void;
}

/** Generates a P-256 key and a one-day self-signed certificate whose subject alternative name is 127.0.0.1. */
export function loopbackCertificate(): LoopbackCertificate {
  const dir = mkdtempSync(join(process.env.PHIGATE_TEST_TMP ?? tmpdir(), "phigate-tls-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore" },
  );
  const cert = readFileSync(certFile, "utf8");
  const caFile = join(dir, "ca.pem");
  writeFileSync(caFile, cert);
  return {
    key: readFileSync(keyFile, "utf8"),
    cert,
    caFile,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
