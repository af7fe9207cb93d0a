// The ids Hugging Face tokenizers (npm `tokenizers`, the official binding) gives when a merge is
// listed twice: the micro tokenizer (fuzz/corpus/tokenizer/valid) with its merge "o m" repeated
// first. Its merge map keeps the last rank of a repeated pair, so " omen" still encodes as "Ġo m en".
// Run from this folder after `npm install`: node duplicate-merges.mjs
// The result is committed in tests/QuantTune.Tests/Tokenization/DuplicateMergeTests.cs.
import { readFileSync, writeFileSync } from "node:fs";
import { Tokenizer } from "tokenizers";
const json = JSON.parse(readFileSync("../../fuzz/corpus/tokenizer/valid", "utf8"));
const merges = json.model.merges;
const repeated = merges.findIndex(m => m[0] === "o" && m[1] === "m");
json.model.merges = [merges[repeated], ...merges];
writeFileSync("/tmp/duplicate-merges.json", JSON.stringify(json));
const t = Tokenizer.fromFile("/tmp/duplicate-merges.json");
const text = " the other thing at the station on the hill omen";
console.log(JSON.stringify({ text, repeated, ids: (await t.encode(text, null, { addSpecialTokens: false })).getIds() }));
