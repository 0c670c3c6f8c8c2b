// sigstore-js 4.x (`sigstore`, `@sigstore/verify`, `@sigstore/bundle` from npm)
// as a small command line for scripts/interop/run.
//
//   node sigstore-js.cjs sign   --url URL --token T --bundle OUT FILE
//   node sigstore-js.cjs attest --url URL --token T --bundle OUT FILE
//       (an in-toto statement whose subject is FILE, in a DSSE envelope)
//   node sigstore-js.cjs verify --trusted-root F --bundle B --identity E --issuer I FILE
//
// Exit codes: 0 success, 1 a verification refusal (VerificationError,
// PolicyError, or a DSSE statement that does not name FILE), 2 anything else.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const sigstore = require('sigstore');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial, VerificationError, PolicyError } =
  require('@sigstore/verify');

const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

function parseArgs(argv) {
  const flags = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) {
      flags[argv[i].slice(2)] = argv[++i];
    } else {
      rest.push(argv[i]);
    }
  }
  return { flags, rest };
}

function need(flags, name) {
  if (flags[name] === undefined) {
    throw new Error(`missing --${name}`);
  }
  return flags[name];
}

function sha256Hex(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function signOptions(flags) {
  const url = need(flags, 'url');
  return { fulcioURL: url, rekorURL: url, identityToken: need(flags, 'token'), tlogUpload: true };
}

async function sign(flags, file) {
  const bundle = await sigstore.sign(fs.readFileSync(file), signOptions(flags));
  fs.writeFileSync(need(flags, 'bundle'), JSON.stringify(bundle));
}

async function attest(flags, file) {
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: path.basename(file), digest: { sha256: sha256Hex(fs.readFileSync(file)) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: { buildType: 'https://sigstack.example/interop', externalParameters: {} },
      runDetails: { builder: { id: 'https://sigstack.example/interop' } },
    },
  };
  const payload = Buffer.from(JSON.stringify(statement));
  const bundle = await sigstore.attest(payload, PAYLOAD_TYPE, signOptions(flags));
  fs.writeFileSync(need(flags, 'bundle'), JSON.stringify(bundle));
}

class Refused extends Error {
  constructor(message) {
    super(message);
    this.name = 'Refused';
  }
}

function verify(flags, file) {
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(need(flags, 'trusted-root'))));
  const verifier = new Verifier(toTrustMaterial(root), { tlogThreshold: 1, ctlogThreshold: 1 });
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(need(flags, 'bundle'))));
  const artifact = fs.readFileSync(file);
  const isDsse = bundle.content.$case === 'dsseEnvelope';
  // A message signature is checked against the artifact; a DSSE envelope
  // against its own payload, whose statement must then name the artifact.
  const entity = toSignedEntity(bundle, isDsse ? undefined : artifact);
  verifier.verify(entity, {
    subjectAlternativeName: need(flags, 'identity'),
    extensions: { issuer: need(flags, 'issuer') },
  });
  if (isDsse) {
    const envelope = bundle.content.dsseEnvelope;
    const statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8'));
    const digest = sha256Hex(artifact);
    if (!statement.subject.some((s) => s.digest && s.digest.sha256 === digest)) {
      throw new Refused('no statement subject has the artifact digest');
    }
  }
}

async function main() {
  const [command, ...argv] = process.argv.slice(2);
  const { flags, rest } = parseArgs(argv);
  if (rest.length !== 1) {
    throw new Error('give exactly one FILE');
  }
  switch (command) {
    case 'sign':
      return sign(flags, rest[0]);
    case 'attest':
      return attest(flags, rest[0]);
    case 'verify':
      return verify(flags, rest[0]);
    default:
      throw new Error(`unknown command ${command}`);
  }
}

main().then(
  () => {
    console.log('OK');
  },
  (error) => {
    const refused =
      error instanceof VerificationError || error instanceof PolicyError || error instanceof Refused;
    console.error(`${refused ? 'FAIL' : 'ERROR'}: ${error.name}: ${error.message}`);
    process.exit(refused ? 1 : 2);
  },
);
