// Expected ids and decoded text of small synthetic tokenizer.json files, one per component of Hugging Face
// tokenizers that QuantTune reads (normalizers, pre-tokenizers, models, decoders), computed by the official
// Node binding (npm `tokenizers` 0.23.2) on a varied text set (accents, digits, punctuation, white-space runs,
// CJK, emoji, astral letters).
//
// Each case is a whole tokenizer.json, built so that the ids show what the component under test did:
//  - a normalizer case feeds the normalized text, unsplit, to a WordLevel model whose vocabulary is exactly the
//    normalized texts (so the id names the normalized string); the normalized strings are kept too;
//  - a pre-tokenizer case feeds a WordLevel model whose vocabulary is every piece the pre-tokenizer produced
//    (listed by the binding's preTokenizeString), so the ids spell the split;
//  - a model case gives the model a vocabulary drawn from the texts, with unknown characters left out;
//  - decode(ids) is recorded (the tokens joined by spaces where a case has no decoder), and the ids with
//    special tokens (post-processors BertProcessing, RobertaProcessing).
// Run from this folder after `npm install`: node components.mjs
// Writes ../../tests/fixtures/tokenizers/components/expected.json, read by TokenizerComponentTests.
import { writeFileSync } from "node:fs";
import { Tokenizer } from "tokenizers";

const texts = [
  "Hello, World! This is a TEST of the tokenizer.",
  "Café naïve résumé façade Ångström ÉCOLE İstanbul ΣΊΣΥΦΟΣ straße ǅ ﬁ",
  "In 2024 the 3rd edition sold 1,234,567 copies at $19.99 (½ off) ① Ⅻ ٣٤٥",
  "Wait... what?!? (yes) [no] {maybe} <tag/> a--b __init__ @user #hash 50% it's we're \"q\" «guillemets» — dash",
  "  leading and trailing  \t\ttabs\n\nnewlines   \u00a0nbsp\u3000ideographic  ",
  "我想在apple工作1314151天。日本語のテキスト、カタカナ。한국어 문장입니다.",
  "😀abc 🚀 (normal) 😶\u200d🌫️ ✅ 🦙🦙 👍🏽 x😀y",
  "𝐀𝐁𝐂 𝑥 + 𝑦 = 𝟏𝟐𝟑 Ⓐⓑ 🄰 e\u0301 a\u0308 n\u0303",
  "don't do not I'm you've they're he's . , ? !",
  "ctrl\u0000\u0007\u200b\ufeff\ufffd\u00ad end\u2028\u0085 𠀀𪚥 豈",
  "x",
  "",
];

const header = [ "version", "1.0" ];
function tokenizer({ normalizer = null, pre_tokenizer = null, model, decoder = null, post_processor = null }) {
  return { version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer, pre_tokenizer, post_processor, decoder, model };
}

function wordLevel(pieces) {
  const vocab = { "<unk>": 0 };
  for (const p of [...new Set(pieces)].sort()) if (!(p in vocab)) vocab[p] = Object.keys(vocab).length;
  return { type: "WordLevel", vocab, unk_token: "<unk>" };
}

const codePoints = s => [...s];
function rng(seed) { let x = seed >>> 0; return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 4294967296); }

const cases = [];
async function record(name, json, extra = {}) {
  const t = Tokenizer.fromString(JSON.stringify(json));
  const results = [];
  for (const text of texts) {
    const encoding = await t.encode(text, null, { addSpecialTokens: false });
    const ids = encoding.getIds();
    const withSpecial = (await t.encode(text, null, { addSpecialTokens: true })).getIds();
    results.push({ text, ids, ids_with_special_tokens: withSpecial, decoded: await t.decode(ids, false) });
  }
  cases.push({ name, ...extra, tokenizer: json, results });
}

// ---- normalizers ----
const normalizers = {
  NFC: { type: "NFC" }, NFD: { type: "NFD" }, NFKC: { type: "NFKC" }, NFKD: { type: "NFKD" },
  Lowercase: { type: "Lowercase" },
  StripBoth: { type: "Strip", strip_left: true, strip_right: true },
  StripLeft: { type: "Strip", strip_left: true, strip_right: false },
  StripRight: { type: "Strip", strip_left: false, strip_right: true },
  StripAccents: { type: "StripAccents" },
  NfdStripAccentsLowercase: { type: "Sequence", normalizers: [{ type: "NFD" }, { type: "StripAccents" }, { type: "Lowercase" }] },
  ReplaceString: { type: "Replace", pattern: { String: " " }, content: "▁" },
  ReplaceRegex: { type: "Replace", pattern: { Regex: "\\s+" }, content: " " },
  ReplaceRegexDigits: { type: "Replace", pattern: { Regex: "[0-9]+" }, content: "<n$1>" },
  Prepend: { type: "Prepend", prepend: "▁" },
  BertNormalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  BertNormalizerCased: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: false },
  SequencePrependReplace: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] },
};
for (const [name, normalizer] of Object.entries(normalizers)) {
  const n = Tokenizer.fromString(JSON.stringify(tokenizer({ normalizer, model: wordLevel([]) }))).getNormalizer();
  const normalized = texts.map(t => n.normalizeString(t));
  await record(`normalizer/${name}`, tokenizer({ normalizer, model: wordLevel(normalized.filter(s => s.length > 0)), decoder: { type: "Fuse" } }), { normalized });
}

// ---- pre-tokenizers ----
const preTokenizers = {
  Whitespace: { type: "Whitespace" },
  WhitespaceSplit: { type: "WhitespaceSplit" },
  BertPreTokenizer: { type: "BertPreTokenizer" },
  CharDelimiterSplit: { type: "CharDelimiterSplit", delimiter: "a" },
  CharDelimiterSplitAstral: { type: "CharDelimiterSplit", delimiter: "😀" },
  FixedLength: { type: "FixedLength", length: 3 },
  FixedLengthOne: { type: "FixedLength", length: 1 },
  MetaspaceWhitespace: { type: "Sequence", pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: true }] },
  MetaspaceAlwaysWhitespace: { type: "Sequence", pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: false }] },
};
for (const behavior of ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"]) {
  preTokenizers[`Punctuation${behavior}`] = { type: "Punctuation", behavior };
}
for (const scheme of ["always", "first", "never"]) {
  for (const split of [true, false]) {
    preTokenizers[`Metaspace-${scheme}-${split ? "split" : "whole"}`] = { type: "Metaspace", replacement: "▁", prepend_scheme: scheme, split };
  }
}
for (const [name, pre_tokenizer] of Object.entries(preTokenizers)) {
  const p = Tokenizer.fromString(JSON.stringify(tokenizer({ pre_tokenizer, model: wordLevel([]) }))).getPreTokenizer();
  const pieces = texts.map(t => p.preTokenizeString(t).map(([piece]) => piece));
  // A tokenizer-level decoder that keeps the pieces apart: WordPiece with an impossible prefix puts a space between them.
  await record(`pre_tokenizer/${name}`, tokenizer({ pre_tokenizer, model: wordLevel(pieces.flat()), decoder: { type: "WordPiece", prefix: "\u0001", cleanup: false } }), { pieces });
}

// ---- models ----
const allChars = [...new Set(texts.flatMap(codePoints))].sort();
const random = rng(7);
// Unknown on purpose: the letters q, z, and CJK 天, the emoji 🦙, and the combining marks.
const unknown = new Set(["q", "z", "天", "🦙", "\u0301", "\u0308"]);
const known = allChars.filter(c => !unknown.has(c));
const words = [...new Set(texts.flatMap(t => t.split(/\s+/)).filter(w => w.length > 1))].sort();

{ // WordLevel with Whitespace
  const vocab = { "<unk>": 0 };
  for (const w of words.filter((_, i) => i % 3 !== 0).flatMap(w => w.match(/[\p{L}\p{M}\p{Nd}_]+/gu) ?? [])) if (!(w in vocab)) vocab[w] = Object.keys(vocab).length;
  for (const c of known) if (!(c in vocab)) vocab[c] = Object.keys(vocab).length;
  await record("model/WordLevel", tokenizer({ pre_tokenizer: { type: "Whitespace" }, model: { type: "WordLevel", vocab, unk_token: "<unk>" }, decoder: { type: "WordPiece", prefix: "##", cleanup: true } }));
}

{ // WordPiece with BertPreTokenizer, lowercase
  const vocab = { "[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3 };
  const add = t => { if (!(t in vocab)) vocab[t] = Object.keys(vocab).length; };
  for (const c of known) { add(c); add("##" + c); }
  for (const w of words) {
    const cps = codePoints(w.toLowerCase());
    for (let i = 0; i + 2 <= cps.length; i += 2) add((i > 0 ? "##" : "") + cps.slice(i, i + 2 + (i % 3)).join(""));
    if (random() < 0.4) add(w.toLowerCase().replace(/[^\p{L}]/gu, ""));
  }
  delete vocab[""];
  await record("model/WordPiece", tokenizer({
    normalizer: { type: "Sequence", normalizers: [{ type: "NFD" }, { type: "StripAccents" }, { type: "Lowercase" }] },
    pre_tokenizer: { type: "BertPreTokenizer" },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 12, vocab },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    post_processor: { type: "BertProcessing", sep: ["[SEP]", 3], cls: ["[CLS]", 2] },
  }));
}

function unigramVocab(byteFallback) {
  const pieces = new Map([["<unk>", 0], ["<s>", 0], ["</s>", 0]]);
  if (byteFallback) for (let b = 0; b < 256; b++) pieces.set(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, 0);
  for (const c of known) pieces.set(c === " " ? "▁" : c, -8 - 4 * random());
  for (const t of texts) {
    const cps = codePoints("▁" + t.replace(/ /g, "▁"));
    for (let i = 0; i < cps.length; i++) {
      for (let n = 2; n <= 5 && i + n <= cps.length; n++) {
        const piece = cps.slice(i, i + n).join("");
        if (random() < 0.35 && ![...piece].some(c => unknown.has(c))) pieces.set(piece, -2 - 10 * random() + n * 0.5);
      }
    }
  }
  return [...pieces.entries()].map(([p, s]) => [p, Math.round(s * 1e6) / 1e6]);
}
for (const byteFallback of [false, true]) {
  await record(`model/Unigram${byteFallback ? "-byte_fallback" : ""}`, tokenizer({
    pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
    model: { type: "Unigram", unk_id: 0, vocab: unigramVocab(byteFallback), byte_fallback: byteFallback },
    decoder: byteFallback
      ? { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }] }
      : { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
  }));
}

for (const ignoreMerges of [false, true]) { // BPE whose whole words are in the vocabulary, but not reachable by the merges
  const vocab = { "<unk>": 0 };
  const add = t => { if (!(t in vocab)) vocab[t] = Object.keys(vocab).length; };
  for (const c of known) add(c);
  const merges = [];
  for (const w of words.filter(w => ![...w].some(c => unknown.has(c)))) {
    const cps = codePoints(w);
    if (cps.length >= 2 && random() < 0.5) { merges.push([cps[0], cps[1]]); add(cps[0] + cps[1]); }
    if (random() < 0.5) add(w);
  }
  const unique = [...new Map(merges.map(m => [m.join(" "), m])).values()];
  await record(`model/BPE${ignoreMerges ? "-ignore_merges" : ""}`, tokenizer({
    pre_tokenizer: { type: "WhitespaceSplit" },
    model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: false, ignore_merges: ignoreMerges, vocab, merges: unique },
    decoder: { type: "BPEDecoder", suffix: "</w>" },
  }));
}

{ // no decoder: the tokens joined by spaces; RobertaProcessing adds <s> and </s>
  const vocab = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (const c of known) if (!(c in vocab)) vocab[c] = Object.keys(vocab).length;
  await record("decoder/none", tokenizer({
    pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Whitespace" }, { type: "FixedLength", length: 2 }] },
    model: { type: "WordLevel", vocab, unk_token: "<unk>" },
    post_processor: { type: "RobertaProcessing", sep: ["</s>", 2], cls: ["<s>", 1], trim_offsets: true, add_prefix_space: false },
  }));
}

{ // CTC decoder over a character-level WordLevel vocabulary
  const vocab = { "<pad>": 0, "|": 1, "<unk>": 2 };
  for (const c of known) if (!(c in vocab)) vocab[c] = Object.keys(vocab).length;
  await record("decoder/CTC", tokenizer({
    normalizer: { type: "Replace", pattern: { String: " " }, content: "|" },
    pre_tokenizer: { type: "FixedLength", length: 1 },
    model: { type: "WordLevel", vocab, unk_token: "<unk>" },
    decoder: { type: "CTC", pad_token: "<pad>", word_delimiter_token: "|", cleanup: true },
  }));
}

const lines = cases.map(c => "  " + JSON.stringify(c));
writeFileSync("../../tests/fixtures/tokenizers/components/expected.json",
  `{\n "generator": "tools/tokenizer-references/components.mjs", "tokenizers": "0.23.2",\n "cases": [\n${lines.join(",\n")}\n ]\n}\n`);
console.log(`${cases.length} cases`);
