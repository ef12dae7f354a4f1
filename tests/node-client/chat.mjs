// Usage: node chat.mjs BASE_URL MODEL PROMPT MAX_TOKENS
// Asks a Parley server through the official 'openai' package, once whole and once streamed, and
// prints one JSON line: {"text", "finish", "usage", "streamed", "streamFinish", "chunks", "error"}.
import OpenAI from "openai";

const [baseURL, model, prompt, maxTokens] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0 });
const request = { model, messages: [{ role: "user", content: prompt }], max_tokens: Number(maxTokens), temperature: 0 };

const whole = await client.chat.completions.create(request);
let streamed = "";
let streamFinish = null;
let chunks = 0;
for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
  chunks++;
  streamed += chunk.choices[0]?.delta?.content ?? "";
  streamFinish = chunk.choices[0]?.finish_reason ?? streamFinish;
}

let error = null;
try {
  await client.chat.completions.create({ ...request, model: "no-such-model" });
} catch (e) {
  error = { status: e.status, code: e.code };
}

console.log(JSON.stringify({
  text: whole.choices[0].message.content,
  finish: whole.choices[0].finish_reason,
  usage: whole.usage,
  streamed,
  streamFinish,
  chunks,
  error,
}));
