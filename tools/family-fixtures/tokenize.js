// Token ids of WikiText-2 test and of the greedy prompt, by Hugging Face's own tokenizers
// (npm package "tokenizers", the official binding), for the NumPy reference forward.
// Run: cd tools/family-fixtures && npm install --no-save tokenizers@0.23.2 && node tokenize.js TOKENIZER.json WIKI.raw OUT.json
const fs = require("fs");
const { Tokenizer } = require("tokenizers");
const [tokenizerPath, wikiPath, outPath] = process.argv.slice(2);
(async () => {
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const wiki = await tokenizer.encode(fs.readFileSync(wikiPath, "utf8"), null, { addSpecialTokens: false });
  const prompt = await tokenizer.encode("The history of the", null, { addSpecialTokens: false });
  fs.writeFileSync(outPath, JSON.stringify({ wiki: wiki.getIds(), prompt: prompt.getIds() }));
  console.log(`${wiki.getIds().length} wiki tokens, prompt ${JSON.stringify(prompt.getIds())}`);
})();
