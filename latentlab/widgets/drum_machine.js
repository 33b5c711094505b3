// DrumMachine front end: a 9-row step grid with a playhead, played with the Web Audio API.
//
// Timing: a look-ahead scheduler (a timer every TICK_MS schedules the notes of the next
// LOOKAHEAD seconds on the audio clock). A note's sample frame is
//   anchor.frame + floor((n - anchor.n + offset) * stepFrames + 0.5)
// for absolute step n, the expression latentlab.audio.render uses, so the loop is sample
// accurate, never drifts, and matches the WAV export. The player belongs to the model (one
// per widget, however many views); window.latentlab.drumMachines holds one test hook each.

const LOOKAHEAD = 0.12; // seconds of audio scheduled ahead of the audio clock
const TICK_MS = 25; // scheduler timer period
const START_DELAY = 0.05; // seconds from pressing play to the first step (plus half a step)
const SWAP_MARGIN = 0.01; // a swap never cancels notes starting sooner than this (seconds)
const EDIT_VELOCITY = 0.8; // velocity of a hit added by clicking a cell
const LOG_LIMIT = 8192; // scheduled notes kept for the test hook

const registry = (globalThis.latentlab ??= {});
registry.drumMachines ??= [];
const players = (registry.drumMachinePlayers ??= new Map());

const epochNow = () => performance.timeOrigin + performance.now();

/** The page's one AudioContext, created (or resumed) inside a user gesture. */
function audioContext(sampleRate) {
	registry.audioContext ??= new AudioContext({ sampleRate, latencyHint: "interactive" });
	if (registry.audioContext.state === "suspended") registry.audioContext.resume();
	return registry.audioContext;
}

/** The kit's nine sounds as AudioBuffers of `ctx`, decoded from the `_kit` float32 bytes. */
function kitBuffers(model, ctx) {
	const info = model.get("_kit_info");
	const view = model.get("_kit");
	const bytes = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
	const all = new Float32Array(bytes);
	let start = 0;
	return info.lengths.map((length) => {
		const buffer = new AudioBuffer({ length, sampleRate: info.sample_rate, numberOfChannels: 1 });
		buffer.copyToChannel(all.subarray(start, start + length), 0);
		start += length;
		return buffer;
	});
}

/** Places and starts notes on one audio context: the timing and gain rules of the export. */
class Sequencer {
	constructor(ctx, out, buffers, info, bpm, startFrame) {
		Object.assign(this, { ctx, out, buffers, info, startFrame });
		this.sr = info.sample_rate;
		this.anchor = { frame: startFrame, n: 0 };
		this.stepFrames = 60 / bpm / 4 * this.sr;
	}

	frameOf(n, offset) {
		return this.anchor.frame + Math.floor((n - this.anchor.n + offset) * this.stepFrames + 0.5);
	}

	/** Change tempo from step n on, keeping step n where the old tempo put it. */
	setTempo(bpm, n) {
		this.anchor = { frame: this.frameOf(n, 0), n };
		this.stepFrames = 60 / bpm / 4 * this.sr;
	}

	/** Step position (fractional, absolute) at audio time `time`. */
	position(time) {
		return (time * this.sr - this.anchor.frame) / this.stepFrames + this.anchor.n;
	}

	/** Start the notes of absolute step n of `pattern`; returns [log entry, source] pairs. */
	playStep(pattern, n, version) {
		const steps = pattern.hits.length;
		const step = ((n % steps) + steps) % steps;
		const { velocity_exponent: exponent, master_gain: master } = this.info;
		const notes = [];
		for (let cls = 0; cls < pattern.hits[step].length; cls++) {
			if (!pattern.hits[step][cls]) continue;
			const velocity = pattern.velocities[step][cls];
			const offset = pattern.offsets[step][cls];
			const frame = this.frameOf(n, offset);
			const time = frame / this.sr;
			const gain = new GainNode(this.ctx, { gain: master * velocity ** exponent });
			const source = new AudioBufferSourceNode(this.ctx, { buffer: this.buffers[cls] });
			source.connect(gain).connect(this.out);
			source.start(Math.max(0, time), Math.max(0, -time)); // before 0: play the rest
			const entry = { n, step, cls, velocity, offset, version, time, at: epochNow() };
			entry.frame = frame - this.startFrame;
			notes.push([entry, source]);
		}
		return notes;
	}
}

/** Live playback of one widget model: play/stop, tempo, pattern swaps at the next step. */
class Player {
	constructor(model) {
		this.model = model;
		this.pattern = model.get("pattern");
		this.version = 1;
		this.seq = null;
		this.timer = null;
		this.pending = []; // [entry, source] of notes that may not have started yet
		this.log = [];
		this.swaps = [];
		this.listeners = new Set();
		this.buffers = null;
	}

	get playing() {
		return this.seq !== null;
	}

	emit() {
		for (const listener of this.listeners) listener();
	}

	play() {
		if (this.playing) return;
		const info = this.model.get("_kit_info");
		const ctx = audioContext(info.sample_rate);
		this.buffers ??= kitBuffers(this.model, ctx);
		const out = new GainNode(ctx);
		out.connect(ctx.destination);
		const stepFrames = 60 / this.model.get("bpm") / 4 * info.sample_rate;
		const startFrame = Math.ceil((ctx.currentTime + START_DELAY) * info.sample_rate + stepFrames / 2);
		this.seq = new Sequencer(ctx, out, this.buffers, info, this.model.get("bpm"), startFrame);
		this.nextN = 0;
		this.timer = setInterval(() => this.tick(), TICK_MS);
		this.tick();
		this.sync(true);
	}

	stop() {
		if (!this.playing) return;
		clearInterval(this.timer);
		const { ctx, out } = this.seq;
		for (const [entry, source] of this.pending) if (entry.time > ctx.currentTime) source.stop();
		out.gain.setTargetAtTime(0, ctx.currentTime, 0.015); // ringing sounds fade out, no click
		setTimeout(() => out.disconnect(), 200);
		this.pending = [];
		this.seq = null;
		this.sync(false);
	}

	sync(playing) {
		if (this.model.get("playing") !== playing) {
			this.model.set("playing", playing);
			this.model.save_changes();
		}
		this.emit();
	}

	scheduleNextStep() {
		for (const note of this.seq.playStep(this.pattern, this.nextN, this.version)) {
			this.pending.push(note);
			this.log.push(note[0]);
		}
		this.nextN += 1;
	}

	/** Schedule every step whose earliest note (offset -0.5) falls inside the look-ahead. */
	tick() {
		const seq = this.seq;
		const now = seq.ctx.currentTime;
		while (seq.frameOf(this.nextN, -0.5) / seq.sr < now + LOOKAHEAD) this.scheduleNextStep();
		this.pending = this.pending.filter(([entry]) => entry.time > now - 0.05);
		if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
	}

	/** Take a new pattern; while playing, cancel what was scheduled from the next step on. */
	setPattern(pattern) {
		this.pattern = pattern;
		this.version += 1;
		const swap = { version: this.version, at: epochNow(), n: null, position: null };
		if (this.playing) {
			const seq = this.seq;
			swap.position = seq.position(seq.ctx.currentTime);
			const now = seq.ctx.currentTime + SWAP_MARGIN;
			let n = Math.floor(seq.position(now)) + 1;
			while (seq.frameOf(n, -0.5) / seq.sr <= now) n += 1;
			n = Math.min(n, this.nextN);
			for (const [entry, source] of this.pending) {
				if (entry.n >= n) {
					source.stop();
					entry.cancelled = true;
				}
			}
			this.pending = this.pending.filter(([entry]) => !entry.cancelled);
			this.nextN = n;
			swap.n = n;
			this.scheduleNextStep(); // the swap's first step at once, even beyond the look-ahead
			this.tick();
		}
		this.swaps.push(swap);
		this.emit();
	}

	setTempo(bpm) {
		if (this.playing) this.seq.setTempo(bpm, this.nextN);
	}

	/** Fractional step of the pattern sounding now, or null when stopped or not yet started. */
	playhead() {
		if (!this.playing) return null;
		const pos = this.seq.position(this.seq.ctx.currentTime);
		const steps = this.pattern.hits.length;
		return pos < 0 ? null : pos % steps;
	}

	/** Render `loops` loops from step 0 through an OfflineAudioContext: the page's own audio. */
	async renderOffline(loops) {
		const info = this.model.get("_kit_info");
		const bpm = this.model.get("bpm");
		const steps = this.pattern.hits.length;
		const length = Math.floor(steps * loops * (60 / bpm / 4) * info.sample_rate + 0.5);
		const ctx = new OfflineAudioContext(1, length, info.sample_rate);
		const seq = new Sequencer(ctx, ctx.destination, kitBuffers(this.model, ctx), info, bpm, 0);
		for (let n = 0; n < steps * loops; n++) seq.playStep(this.pattern, n, this.version);
		const rendered = await ctx.startRendering();
		return rendered.getChannelData(0);
	}
}

function toBase64(floats) {
	const bytes = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
	let text = "";
	for (let i = 0; i < bytes.length; i += 0x8000) {
		text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
	}
	return btoa(text);
}

function saveFile(msg, buffers) {
	if (msg.type !== "file") return;
	const url = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime }));
	const link = Object.assign(document.createElement("a"), { href: url, download: msg.name });
	document.body.append(link);
	link.click();
	link.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function initialize({ model }) {
	const player = new Player(model);
	const uid = model.get("_uid");
	players.set(uid, player);
	const hook = {
		uid,
		audioState: () => registry.audioContext?.state ?? "none",
		playing: () => player.playing,
		version: () => player.version,
		scheduled: () => player.log.map((entry) => ({ ...entry })),
		swaps: () => player.swaps.map((swap) => ({ ...swap })),
		clearLog: () => {
			player.log = [];
			player.swaps = [];
		},
		renderOffline: async (loops) => toBase64(await player.renderOffline(loops)),
	};
	registry.drumMachines.push(hook);
	model.on("change:pattern", () => player.setPattern(model.get("pattern")));
	model.on("change:bpm", () => player.setTempo(model.get("bpm")));
	model.on("change:playing", () => (model.get("playing") ? player.play() : player.stop()));
	model.on("msg:custom", saveFile);
	return () => {
		player.stop();
		players.delete(uid);
		registry.drumMachines = registry.drumMachines.filter((other) => other !== hook);
	};
}

function el(tag, className, props = {}) {
	return Object.assign(document.createElement(tag), { className }, props);
}

const formatSigned = (x) => (x >= 0 ? "+" : "") + x.toFixed(2);

function render({ model, el: host }) {
	const player = players.get(model.get("_uid"));
	const { labels, colours } = model.get("_kit_info");
	const root = el("div", "ll-dm", { tabIndex: 0 });
	const bar = el("div", "ll-dm-bar");
	const playButton = el("button", "ll-dm-play", { type: "button", title: "Play / stop (space)" });
	const tempo = el("input", "ll-dm-tempo-input", { type: "number", min: 20, max: 400, step: 1 });
	const tempoLabel = el("label", "ll-dm-tempo");
	tempoLabel.append(tempo, el("span", "ll-dm-unit", { textContent: "BPM" }));
	const info = el("span", "ll-dm-info");
	const downloads = ["midi", "wav"].map((format) =>
		el("button", `ll-dm-download ll-dm-download-${format}`, {
			type: "button",
			textContent: `⤓ ${format === "midi" ? "MIDI" : "WAV"}`,
			title: `Download the groove as ${format.toUpperCase()}`,
			onclick: () => model.send({ type: "download", format }),
		}),
	);
	bar.append(playButton, tempoLabel, info, el("span", "ll-dm-spacer"), ...downloads);
	const grid = el("div", "ll-dm-grid");
	const playhead = el("div", "ll-dm-playhead");
	root.append(bar, grid);
	host.append(root);

	let cells = []; // cells[step][cls]
	let steps = 0;

	function build(pattern) {
		steps = pattern.hits.length;
		grid.replaceChildren();
		grid.style.gridTemplateColumns = `var(--ll-dm-label-width) repeat(${steps}, minmax(0, 1fr))`;
		grid.append(el("div", "ll-dm-corner"));
		for (let s = 0; s < steps; s++) {
			const beat = Math.floor(s / 4) % 4;
			const num = el("div", "ll-dm-num", { textContent: s % 4 === 0 ? String(beat + 1) : "·" });
			if (s % 16 === 0) {
				num.textContent = `${s / 16 + 1}.1`;
				num.classList.add("ll-dm-bar-start");
			}
			grid.append(num);
		}
		cells = Array.from({ length: steps }, () => []);
		labels.forEach((label, cls) => {
			const name = el("div", "ll-dm-label", { textContent: label });
			name.style.setProperty("--c", colours[cls]);
			grid.append(name);
			for (let s = 0; s < steps; s++) {
				const cell = el("div", "ll-dm-cell");
				cell.style.setProperty("--c", colours[cls]);
				cell.dataset.step = s;
				cell.dataset.cls = cls;
				if (Math.floor(s / 4) % 2 === 1) cell.classList.add("ll-dm-offbeat");
				if (s % 4 === 0 && s > 0) cell.classList.add("ll-dm-beat-start");
				if (s % 16 === 0 && s > 0) cell.classList.add("ll-dm-bar-start");
				cell.append(el("div", "ll-dm-note"));
				cells[s].push(cell);
				grid.append(cell);
			}
		});
		grid.append(playhead);
	}

	function paint() {
		const pattern = model.get("pattern");
		if (pattern.hits.length !== steps) build(pattern);
		let count = 0;
		for (let s = 0; s < steps; s++) {
			for (let c = 0; c < labels.length; c++) {
				const cell = cells[s][c];
				const on = pattern.hits[s][c] === 1;
				const v = pattern.velocities[s][c];
				const o = pattern.offsets[s][c];
				cell.classList.toggle("ll-dm-on", on);
				cell.style.setProperty("--v", on ? v : 0);
				cell.style.setProperty("--o", on ? o : 0);
				cell.title = on
					? `${labels[c]} · step ${s + 1} · velocity ${v.toFixed(2)} · timing ${formatSigned(o)} step`
					: `${labels[c]} · step ${s + 1}`;
				count += on;
			}
		}
		const bars = steps / 16;
		info.textContent = `${bars} bar${bars === 1 ? "" : "s"} · ${count} hits`;
	}

	function paintTransport() {
		playButton.textContent = player.playing ? "■ Stop" : "▶ Play";
		playButton.classList.toggle("ll-dm-active", player.playing);
		if (document.activeElement !== tempo) tempo.value = Math.round(model.get("bpm") * 100) / 100;
		if (player.playing && !animating) {
			animating = true;
			requestAnimationFrame(animate);
		}
	}

	let animating = false;
	let lastColumn = -1;
	function animate() {
		const pos = player.playhead();
		if (pos === null) {
			playhead.style.display = "none";
			lastColumn = -1;
		} else {
			const column = Math.floor(pos);
			if (column !== lastColumn && cells[column]) {
				const first = cells[column][0];
				playhead.style.display = "block";
				playhead.style.left = `${first.offsetLeft}px`;
				playhead.style.width = `${first.offsetWidth}px`;
				lastColumn = column;
			}
		}
		if (player.playing) requestAnimationFrame(animate);
		else animating = false;
	}

	function toggleCell(s, c) {
		const pattern = structuredClone(model.get("pattern"));
		const on = pattern.hits[s][c] === 1;
		pattern.hits[s][c] = on ? 0 : 1;
		pattern.velocities[s][c] = on ? 0 : EDIT_VELOCITY;
		pattern.offsets[s][c] = 0;
		model.set("pattern", pattern);
		model.save_changes();
	}

	const toggle = () => (player.playing ? player.stop() : player.play());
	playButton.addEventListener("click", toggle);
	grid.addEventListener("click", (event) => {
		const cell = event.target.closest(".ll-dm-cell");
		if (cell) toggleCell(Number(cell.dataset.step), Number(cell.dataset.cls));
	});
	// Space toggles play; keyup is swallowed too, or a focused button would click again.
	const isSpace = (event) => event.code === "Space" && event.target !== tempo;
	root.addEventListener("keydown", (event) => {
		if (!isSpace(event)) return;
		event.preventDefault();
		if (!event.repeat) toggle();
	});
	root.addEventListener("keyup", (event) => isSpace(event) && event.preventDefault());
	tempo.addEventListener("change", () => {
		const bpm = Math.min(400, Math.max(20, Number(tempo.value) || model.get("bpm")));
		tempo.value = bpm;
		model.set("bpm", bpm);
		model.save_changes();
	});
	model.on("change:pattern", paint);
	model.on("change:bpm", paintTransport);
	player.listeners.add(paintTransport);

	paint();
	paintTransport();
	return () => player.listeners.delete(paintTransport);
}

export default { initialize, render };
