// The real @gradio/client, driven for janitor's tests.
//
//   node client.mjs PKG tab URL DELAY_MS
//     connect like a browser tab, print {"session": HASH}, wait DELAY_MS
//     (-1: until stdin closes), then exit: the process's sockets close,
//     as when a tab is closed.
//   node client.mjs PKG work URL FILE
//     connect, run echo, the count generator and a file upload, download
//     the returned file; print {"session", "echo", "count", "file_sha256",
//     "file_len"} and exit.
//   node client.mjs PKG say URL MESSAGE
//     connect, run examples/gradio's /say; print {"session", "answer"}.
//
// PKG is the installed alias of the client (gradio-client-4, -5, -6).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

const [pkg, mode, url, arg] = process.argv.slice(2);
const { Client, handle_file } = await import(pkg);

const t0 = Date.now();
function debug(what) {
	if (process.env.CLIENT_DEBUG)
		console.error(`${Date.now() - t0} ms ${what}`);
}

function out(obj) {
	process.stdout.write(JSON.stringify(obj) + "\n");
}

const client = await Client.connect(url, { events: ["data", "status"] });

if (mode === "tab") {
	out({ session: client.session_hash });
	const ms = Number(arg);
	if (ms < 0) {
		process.stdin.resume();
		process.stdin.on("end", () => process.exit(0));
	} else if (ms === 0) {
		process.exit(0);
	} else {
		setTimeout(() => process.exit(0), ms);
	}
} else if (mode === "work") {
	debug("connected " + client.session_hash);
	const echo = await client.predict("/echo", { text: "hello" });
	debug("echo");
	const count = [];
	const job = client.submit("/count", { n: 5 });
	for (;;) {
		const { value: m, done } = await job.next();
		if (done)
			break;
		debug("count: " + m.type + " " + (m.stage ?? ""));
		if (m.type === "data")
			count.push(m.data[0]);
		/*
		 * 1.19's iterator does not end by itself after the last message,
		 * and awaiting its return() can hang: leave it.
		 */
		if (m.type === "status" && (m.stage === "complete" ||
		    m.stage === "error"))
			break;
	}
	debug("count");
	const up = await client.predict("/upload",
	    { f: handle_file(new Blob([readFileSync(arg)])) });
	debug("upload");
	const res = await fetch(up.data[0].url);
	const body = Buffer.from(await res.arrayBuffer());
	out({
		session: client.session_hash,
		echo: echo.data[0],
		count: count,
		file_sha256: createHash("sha256").update(body).digest("hex"),
		file_len: body.length,
	});
	process.exit(0);
} else if (mode === "say") {
	const r = await client.predict("/say", { message: arg });
	out({ session: client.session_hash, answer: r.data[0] });
	process.exit(0);
} else {
	console.error("unknown mode " + mode);
	process.exit(2);
}
