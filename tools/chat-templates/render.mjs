// Renders every case of cases.json with every shipped template it applies to, using
// @huggingface/jinja, and writes expected.json. The C# tests (ChatTemplateReferenceTests) render
// the same inputs and require byte-identical strings (or an error where this one errs).
//
//   cd tools/chat-templates && npm install && node render.mjs
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Template } from "@huggingface/jinja";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "../../tests/fixtures/chat-templates");
const manifest = JSON.parse(fs.readFileSync(path.join(fixtures, "templates.json"), "utf8"));
const cases = JSON.parse(fs.readFileSync(path.join(fixtures, "cases.json"), "utf8"));

const expected = [];
for (const t of manifest) {
	const template = new Template(fs.readFileSync(path.join(fixtures, t.file), "utf8"));
	for (const c of cases) {
		if (c.templates && !c.templates.includes(t.name)) continue;
		if (t.cases && !t.cases.includes(c.name)) continue;
		const inputs = {
			messages: c.messages,
			add_generation_prompt: c.add_generation_prompt ?? false,
			...(t.bos_token != null ? { bos_token: t.bos_token } : {}),
			...(t.eos_token != null ? { eos_token: t.eos_token } : {}),
			...(c.tools ? { tools: c.tools } : {}),
			...(c.variables ?? {}),
		};
		let result;
		try {
			result = { template: t.name, case: c.name, output: template.render(inputs) };
		} catch (e) {
			result = { template: t.name, case: c.name, error: String(e.message) };
		}
		expected.push(result);
	}
}
fs.writeFileSync(path.join(fixtures, "expected.json"), JSON.stringify(expected, null, 1) + "\n");
console.log(`${expected.length} renders written to expected.json`);
