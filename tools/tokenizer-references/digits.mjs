// The ids Hugging Face tokenizers (npm `tokenizers`, the official binding) gives for the Digits
// pre-tokenizer: tiny-llama's byte-level BPE tokenizer with its pre_tokenizer replaced by
// SmolLM2's layout, Sequence [Digits { individual_digits: true }, ByteLevel], and by the same with
// individual_digits false (runs of digits kept whole).
// Run from this folder after `npm install`: node digits.mjs
// Writes ../../tests/fixtures/tokenizers/digits/expected.json, read by DigitsPreTokenizerTests.
import { readFileSync, writeFileSync } from "node:fs";
import { Tokenizer } from "tokenizers";
const base = JSON.parse(readFileSync("../../assets/models/tiny-llama/tokenizer.json", "utf8"));
const texts = [
  "In 2024 the 3rd edition sold 1,234,567 copies at $19.99.",
  "pi = 3.14159265358979; e^10 ≈ 22026.4658",
  "Arabic-Indic ٠١٢٣٤ and Devanagari ०१२३ and fullwidth １２３ digits",
  "Roman Ⅻ and Ⅳ, fractions ½ ¾, superscripts x² y³, circled ① ②",
  "math 𝟙𝟚𝟛 and the year 1999\n\n  007\t42",
  "no digits here at all",
  "0",
  "",
];
const cases = {};
for (const individual of [true, false]) {
  const json = structuredClone(base);
  json.pre_tokenizer = {
    type: "Sequence",
    pretokenizers: [
      { type: "Digits", individual_digits: individual },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    ],
  };
  const path = `/tmp/digits-${individual}.json`;
  writeFileSync(path, JSON.stringify(json));
  const t = Tokenizer.fromFile(path);
  cases[individual ? "individual" : "contiguous"] = await Promise.all(texts.map(async text =>
    ({ text, ids: (await t.encode(text, null, { addSpecialTokens: false })).getIds() })));
}
const lines = Object.entries(cases).map(([name, list]) =>
  `  ${JSON.stringify(name)}: [\n${list.map(c => "    " + JSON.stringify(c)).join(",\n")}\n  ]`);
writeFileSync("../../tests/fixtures/tokenizers/digits/expected.json",
  `{\n "generator": "tools/tokenizer-references/digits.mjs", "tokenizers": "0.23.2",\n "cases": {\n${lines.join(",\n")}\n }\n}\n`);
