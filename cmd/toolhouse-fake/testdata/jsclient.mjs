// jsclient.mjs drives the official JavaScript client, @toolhouseai/client,
// against a running toolhouse-fake, the way a web app uses it: it never
// polls and never reads x-toolhouse-job-id. TestOfficialJSClient runs it
// with Node and checks what it prints: one JSON object with the answers.
//
// Environment: TOOLHOUSE_JS_CLIENT_DIR (the installed package's
// directory), TOOLHOUSE_AGENTS_URL (from the fake), TOOLHOUSE_AGENT_ID,
// TOOLHOUSE_JOB_TIME_MS (the fake's -job-time).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

// loadClient imports the package from its directory. It ships ES module
// syntax in a .js file without "type": "module", which Node before 20.19
// reads as CommonJS; then the source is imported as a module by hand.
async function loadClient(dir) {
  const file = path.join(dir, "index.js");
  try {
    return await import(pathToFileURL(file).href);
  } catch (err) {
    if (!(err instanceof SyntaxError)) {
      throw err;
    }
    const source = await readFile(file, "utf8");
    return await import("data:text/javascript;base64," + Buffer.from(source).toString("base64"));
  }
}

const { Toolhouse } = await loadClient(env("TOOLHOUSE_JS_CLIENT_DIR"));
const jobMs = Number(env("TOOLHOUSE_JOB_TIME_MS"));
const agent = new Toolhouse(env("TOOLHOUSE_AGENT_ID"), {
  baseUrl: env("TOOLHOUSE_AGENTS_URL"),
  bundle: "default",
});

const out = {};
// Start the conversation: the demo agent's answer starts a background job,
// somewhere between these two moments.
const sent = Date.now();
out.first = await agent.send("How fast does a hummingbird's heart beat?");
const answered = Date.now();
out.runId = agent.getRunId();
// Continue at once: the job still runs, and the client only sees an error.
// (Surely so when this answer came within the job time of sending.)
try {
  await agent.send("Is the chart ready?");
  out.early = "no error";
} catch (err) {
  out.early = err.message;
}
out.earlyWithinJobTime = Date.now() - sent < jobMs;
// No polling: let the job's time pass, then continue, streaming this time.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, answered + jobMs + 50 - Date.now())));
out.second = "";
for await (const chunk of agent.send("Is the chart ready?")) {
  out.second += chunk;
}
// And once more: the agent remembers the conversation.
out.third = await agent.send("Which one is the fastest?");
out.sameRun = agent.getRunId() === out.runId;
console.log(JSON.stringify(out));
