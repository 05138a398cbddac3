// Compiles perpcli's Ostium devnet contracts with solc-js (npm `solc`, pure JS) and writes one
// artifact per deployed contract: {contract, abi, runtime_bytecode, compiler} into ../artifacts.
// Usage (from the repository root): node perpcli/devnet/ostium/contracts/build.mjs .tools/node_modules/solc
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const solcPath = resolve(process.argv[2] || ".tools/node_modules/solc");
const solc = createRequire(import.meta.url)(solcPath);

// artifact name -> [source file, contract name]
const TARGETS = {
  usdc: ["DevnetUSDC.sol", "DevnetUSDC"],
  registry: ["Registry.sol", "OstiumRegistry"],
  pairs_storage: ["PairsStorage.sol", "OstiumPairsStorage"],
  pairs_info: ["PairInfos.sol", "OstiumPairInfos"],
  trading_storage: ["TradingStorage.sol", "OstiumTradingStorage"],
  trading: ["Trading.sol", "OstiumTrading"],
  callbacks: ["Callbacks.sol", "OstiumCallbacks"],
};

const sources = {};
for (const name of readdirSync(here).filter((f) => f.endsWith(".sol")).sort()) {
  sources[name] = { content: readFileSync(join(here, name), "utf8") };
}
// What the artifacts were built from: the test suite recomputes it to catch a source edited
// without `make ostium-contracts`.
const digest = createHash("sha256");
for (const name of Object.keys(sources)) digest.update(name + "\n" + sources[name].content);
const sourcesSha256 = digest.digest("hex");

const input = {
  language: "Solidity",
  sources,
  settings: {
    viaIR: true,
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    outputSelection: { "*": { "*": ["abi", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

const outDir = resolve(here, "..", "artifacts");
mkdirSync(outDir, { recursive: true });
for (const [artifact, [file, contract]] of Object.entries(TARGETS)) {
  const c = output.contracts[file][contract];
  const body = {
    contract,
    source: file,
    sources_sha256: sourcesSha256,
    compiler: `solc-js ${solc.version()}`,
    settings: { viaIR: true, optimizer_runs: 200, evmVersion: "cancun" },
    abi: c.abi,
    runtime_bytecode: "0x" + c.evm.deployedBytecode.object,
  };
  writeFileSync(join(outDir, `${artifact}.json`), JSON.stringify(body, null, 1) + "\n");
  console.log(`${artifact}.json: ${contract} (${c.evm.deployedBytecode.object.length / 2} bytes)`);
}
