// DrumMachine front end: a 9-row step grid with a playhead, played with the Web Audio API.
//
// Timing: a look-ahead scheduler (a timer every TICK_MS schedules the notes of the next
// LOOKAHEAD seconds on the audio clock). A note's sample frame is
//   anchor.frame + floor((n - anchor.n + offset) * stepFrames + 0.5)
// for absolute step n, the expression latentlab.audio.render uses, so the loop is sample
// accurate, never drifts, and matches the WAV export. The player belongs to the model (one
// per widget, however many views); window.latentlab.drumMachines holds one test hook each.
//
// The player plays `_played`: the pattern with its swing, computed in Python. Live MIDI out
// sends the very notes the scheduler starts (MidiOut), with timestamps from the same times.

const LOOKAHEAD = 0.12; // seconds of audio scheduled ahead of the audio clock
const TICK_MS = 25; // scheduler timer period
const START_DELAY = 0.05; // seconds from pressing play to the first step (plus half a step)
const SWAP_MARGIN = 0.01; // a swap never cancels notes starting sooner than this (seconds)
const EDIT_VELOCITY = 0.8; // velocity of a hit added by clicking a cell
const LOG_LIMIT = 8192; // scheduled notes kept for the test hook
const BARS_PER_LINE = 4; // longer patterns fold into lines of this many bars...
const MAX_LINES = 2; // ...but no more lines than this (a 36-bar chain: 2 lines of 18 bars)
const SWING_DRAG_PX = 150; // dragging the swing knob this far turns it from 0 to 100%
const MIDI_NOTE_STEPS = 0.5; // a MIDI note lasts half a step, as in the MIDI export
const CLOCKS_PER_STEP = 6; // MIDI clock: 24 pulses per quarter note
const MIDI_READINGS = 9; // clock readings whose median maps audio time to MIDI timestamps
const MIDI_FIRST_READINGS = 3; // readings needed before the first MIDI message is sent
const MIDI_REMAP_MS = 1; // the mapping moves only when the clocks drift apart by more than this
const MIDI_START = 0xfa;
const MIDI_STOP = 0xfc;
const MIDI_CLOCK = 0xf8;
const CONNECT = "connect"; // the port picker's "Connect…" entry

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

/** A message for the person in front of the page when Web MIDI cannot be used. */
function midiProblem(error = null) {
	if (!error) {
		return window.isSecureContext
			? "This browser has no Web MIDI (Chrome, Edge, Opera and Firefox have it): use ⤓ MIDI to download the groove instead."
			: "Live MIDI needs a secure page: open this dashboard at localhost or over https, or use ⤓ MIDI to download the groove.";
	}
	if (error.name === "NotAllowedError" || error.name === "SecurityError") {
		return "MIDI access was denied: allow MIDI devices for this site (the icon left of the address, or the browser's site settings), then choose Connect… again.";
	}
	return `MIDI access failed (${error.name}: ${error.message}).`;
}

const NO_PORTS =
	"No MIDI output ports: start a virtual MIDI bus (IAC Driver on macOS, loopMIDI on Windows, a virtual ALSA port on Linux) or plug in a device; it will be listed here.";

/** The page's MIDIAccess, asked for once (the browser may prompt); null without Web MIDI. */
async function midiAccess() {
	if (!("requestMIDIAccess" in navigator)) return null;
	registry.midiAccessRequest ??= navigator.requestMIDIAccess();
	try {
		registry.midiAccess = await registry.midiAccessRequest;
	} catch (error) {
		registry.midiAccessRequest = undefined; // ask again next time (settings may change)
		throw error;
	}
	if (!registry.midiAccess.latentlabWatched) {
		registry.midiAccess.latentlabWatched = true;
		registry.midiAccess.addEventListener("statechange", () => {
			for (const player of players.values()) player.midi.portsChanged(registry.midiAccess);
		});
	}
	return registry.midiAccess;
}

/** Live MIDI out of one player: its scheduled notes, and optionally MIDI clock, to a port.
 *
 * Messages are queued with their audio-clock time and sent with a performance.now()
 * timestamp: that time plus the offset between the two clocks, read once per scheduler tick
 * from AudioContext.getOutputTimestamp (so a note leaves the port as its sound leaves the
 * speakers). The offset in use is the median of recent readings and moves only when the
 * clocks drift apart by over MIDI_REMAP_MS or the sound card's clock jumps (an audio glitch on
 * a busy machine; MIDI then follows the sound), so a loop's MIDI notes keep the audio's
 * relative timing. Every send is caught: a failing port turns MIDI out off with a message and
 * never stops the audio.
 */
class MidiOut {
	constructor(info, changed) {
		this.channel = info.midi_channel;
		this.pitches = info.midi_pitches;
		this.changed = changed;
		this.output = null;
		this.clock = false;
		this.clockRunning = false;
		this.message = "";
		this.start();
	}

	get active() {
		return this.output !== null;
	}

	/** A new run of the scheduler: fresh clock readings, nothing queued. */
	start() {
		this.queue = [];
		this.readings = [];
		this.offset = null;
		this.offsets = []; // [audio time from which it applies, offset] of each mapping used
	}

	setOutput(output) {
		this.stop();
		this.output = output;
		this.message = "";
		this.changed();
	}

	setClock(on) {
		if (!on) this.stopClock();
		this.clock = on;
		this.changed();
	}

	fail(message) {
		this.output = null;
		this.queue = [];
		this.clockRunning = false;
		this.message = message;
		this.changed();
	}

	portsChanged(access) {
		if (this.output && this.output.state === "disconnected") {
			this.fail(`MIDI port “${this.output.name}” was disconnected; MIDI out is off.`);
		} else {
			if (this.message === NO_PORTS && access.outputs.size) this.message = "";
			this.changed();
		}
	}

	/** Queue a note: note-on at `time`, note-off at `offTime` (audio-clock seconds). */
	note(time, offTime, cls, velocity) {
		if (!this.active) return;
		const pitch = this.pitches[cls];
		const midiVelocity = Math.min(127, Math.max(1, Math.round(velocity * 127)));
		this.queue.push([time, [0x90 | this.channel, pitch, midiVelocity]]);
		this.queue.push([offTime, [0x80 | this.channel, pitch, 0]]);
	}

	/** Queue the clock pulses of absolute step n (pattern step `step`); a clock starts on a bar. */
	clockStep(seq, n, step) {
		if (!this.active || !this.clock) return;
		if (!this.clockRunning) {
			if (step % 16 !== 0) return;
			this.queue.push([seq.frameOf(n, 0) / seq.sr, [MIDI_START]]);
			this.clockRunning = true;
		}
		for (let k = 0; k < CLOCKS_PER_STEP; k++) {
			this.queue.push([seq.frameOf(n, k / CLOCKS_PER_STEP) / seq.sr, [MIDI_CLOCK]]);
		}
	}

	/** Read the offset between the audio clock and performance.now() (milliseconds). */
	readClock(ctx) {
		const stamp = ctx.getOutputTimestamp?.() ?? {
			contextTime: ctx.currentTime,
			performanceTime: performance.now() + (ctx.outputLatency || ctx.baseLatency || 0) * 1000,
		};
		if (!(stamp.performanceTime > 0)) return; // the audio has not started yet
		this.readings.push(stamp.performanceTime - stamp.contextTime * 1000);
		if (this.readings.length > MIDI_READINGS) this.readings.shift();
		if (this.readings.length < MIDI_FIRST_READINGS) return;
		const sorted = [...this.readings].sort((a, b) => a - b);
		const median = sorted[sorted.length >> 1];
		if (this.offset === null || Math.abs(median - this.offset) > MIDI_REMAP_MS) {
			this.offset = median;
			this.offsets.push([ctx.currentTime, median]);
			if (this.offsets.length > LOG_LIMIT) this.offsets.shift();
		}
	}

	/** Send what is queued, in time order, once the clocks' offset is known. */
	flush() {
		if (this.offset === null && this.queue.length > LOG_LIMIT) {
			this.fail("MIDI out is off: the browser does not say when its audio plays.");
		}
		if (this.offset === null || !this.active) return;
		const queue = this.queue.sort((a, b) => a[0] - b[0]);
		this.queue = [];
		for (const [time, data] of queue) if (!this.send(data, time * 1000 + this.offset)) return;
	}

	send(data, timestamp) {
		try {
			this.output.send(data, timestamp);
			return true;
		} catch (error) {
			this.fail(`Sending MIDI to “${this.output.name}” failed (${error.message}); MIDI out is off.`);
			return false;
		}
	}

	/** Send MIDI stop to whoever follows the clock (and drop clock pulses not sent yet). */
	stopClock() {
		this.queue = this.queue.filter(([, data]) => data.length > 1);
		if (this.clockRunning && this.active) this.send([MIDI_STOP], performance.now());
		this.clockRunning = false;
	}

	/** Playback stopped. Notes already sent (at most the look-ahead) still play. */
	stop() {
		this.stopClock();
		this.queue = [];
	}
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
		this.pattern = model.get("_played");
		this.version = 1;
		this.seq = null;
		this.timer = null;
		this.pending = []; // [entry, source] of notes that may not have started yet
		this.log = [];
		this.swaps = [];
		this.listeners = new Set();
		this.buffers = null;
		this.midi = new MidiOut(model.get("_kit_info"), () => this.emit());
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
		this.midi.start();
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
		this.midi.stop();
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
		const { seq, pattern, nextN: n } = this;
		const notes = seq.playStep(pattern, n, this.version);
		for (const note of notes) {
			this.pending.push(note);
			this.log.push(note[0]);
		}
		if (this.midi.active) {
			try {
				this.queueMidi(notes.map(([entry]) => entry), n);
			} catch (error) {
				this.midi.fail(`MIDI out stopped (${error.message}).`);
			}
		}
		this.nextN += 1;
	}

	/** The MIDI of step n: its notes, half a step long (or up to the drum's next hit), and clock. */
	queueMidi(entries, n) {
		const { seq, pattern } = this;
		const steps = pattern.hits.length;
		const next = (n + 1) % steps;
		for (const entry of entries) {
			let off = entry.time + (MIDI_NOTE_STEPS * seq.stepFrames) / seq.sr;
			if (pattern.hits[next][entry.cls]) {
				off = Math.min(off, seq.frameOf(n + 1, pattern.offsets[next][entry.cls]) / seq.sr);
			}
			this.midi.note(entry.time, off, entry.cls, entry.velocity);
		}
		this.midi.clockStep(seq, n, n % steps);
	}

	/** Schedule every step whose earliest note (offset -0.5) falls inside the look-ahead. */
	tick() {
		const seq = this.seq;
		const now = seq.ctx.currentTime;
		while (seq.frameOf(this.nextN, -0.5) / seq.sr < now + LOOKAHEAD) this.scheduleNextStep();
		this.pending = this.pending.filter(([entry]) => entry.time > now - 0.05);
		if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
		if (this.midi.active) {
			try {
				this.midi.readClock(seq.ctx);
				this.midi.flush();
			} catch (error) {
				this.midi.fail(`MIDI out stopped (${error.message}).`);
			}
		}
	}

	/** Ask for MIDI access (a user gesture: the browser may prompt) and pick a port. */
	async connectMidi() {
		this.midi.message = "Asking the browser for MIDI access…";
		this.emit();
		try {
			const access = await midiAccess();
			const outputs = access ? [...access.outputs.values()] : [];
			this.midi.message = !access ? midiProblem() : outputs.length ? "" : NO_PORTS;
			if (outputs.length && !this.midi.active) this.midi.setOutput(outputs[0]);
		} catch (error) {
			this.midi.message = midiProblem(error);
		}
		this.emit();
	}

	/** Take a new pattern; while playing, cancel what was scheduled from the next step on.
	 *
	 * With MIDI out on, nothing is cancelled (notes sent to a MIDI port cannot be taken back):
	 * the new pattern starts after the look-ahead, so MIDI and sound stay the same notes.
	 */
	setPattern(pattern) {
		this.pattern = pattern;
		this.version += 1;
		const swap = { version: this.version, at: epochNow(), n: null, position: null };
		if (this.playing) {
			const seq = this.seq;
			swap.position = seq.position(seq.ctx.currentTime);
			let n = this.nextN;
			if (!this.midi.active) {
				const now = seq.ctx.currentTime + SWAP_MARGIN;
				n = Math.floor(seq.position(now)) + 1;
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
				this.scheduleNextStep(); // the swap's first step at once, even beyond the look-ahead
			}
			swap.n = n;
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
		midi: () => ({
			port: player.midi.output?.name ?? null,
			clock: player.midi.clock,
			message: player.midi.message,
			offsets: player.midi.offsets.map((pair) => [...pair]),
		}),
	};
	registry.drumMachines.push(hook);
	watchMidiPermission();
	model.on("change:_played", () => player.setPattern(model.get("_played")));
	model.on("change:bpm", () => player.setTempo(model.get("bpm")));
	model.on("change:playing", () => (model.get("playing") ? player.play() : player.stop()));
	model.on("msg:custom", saveFile);
	return () => {
		player.stop();
		players.delete(uid);
		registry.drumMachines = registry.drumMachines.filter((other) => other !== hook);
	};
}

/** Where the page already has MIDI permission, list the ports at once (no prompt). */
function watchMidiPermission() {
	if (registry.midiPermissionChecked || !("requestMIDIAccess" in navigator)) return;
	registry.midiPermissionChecked = true;
	navigator.permissions
		?.query({ name: "midi" })
		.then((status) => status.state === "granted" && midiAccess())
		.then(() => players.forEach((player) => player.emit()))
		.catch(() => {}); // no permission API for MIDI here: ports are listed on Connect…
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
	const swing = swingKnob(model);
	const info = el("span", "ll-dm-info");
	const midi = midiControls(player);
	const kinds = { midi: "MIDI", wav: "WAV", json: "NoteSequence JSON, for Magenta.js" };
	const downloads = ["midi", "wav", "json"].map((format) =>
		el("button", `ll-dm-download ll-dm-download-${format}`, {
			type: "button",
			textContent: `⤓ ${format === "json" ? "JSON" : kinds[format]}`,
			title: `Download the groove as ${kinds[format]} (with its tempo and swing)`,
			onclick: () => model.send({ type: "download", format }),
		}),
	);
	bar.append(playButton, tempoLabel, swing.root, info, el("span", "ll-dm-spacer"));
	bar.append(midi.root, ...downloads);
	const lines = el("div", "ll-dm-lines");
	root.append(bar, midi.message, lines);
	host.append(root);

	let cells = []; // cells[step][cls]
	let playheads = []; // one per line of the grid
	let steps = 0;
	let perLine = 0; // steps in a full line

	/** The grid: up to 4 bars in one line; longer grooves fold into two (8 bars: 4 + 4). */
	function build(pattern) {
		steps = pattern.hits.length;
		const bars = steps / 16;
		perLine = Math.ceil(bars / Math.min(MAX_LINES, Math.ceil(bars / BARS_PER_LINE))) * 16;
		lines.replaceChildren();
		cells = Array.from({ length: steps }, () => []);
		playheads = [];
		for (let first = 0; first < steps; first += perLine) {
			const last = Math.min(first + perLine, steps);
			const grid = el("div", "ll-dm-grid");
			grid.style.gridTemplateColumns = `var(--ll-dm-label-width) repeat(${perLine}, minmax(0, 1fr))`;
			grid.append(el("div", "ll-dm-corner"));
			for (let s = first; s < last; s++) {
				const beat = Math.floor(s / 4) % 4;
				const num = el("div", "ll-dm-num", { textContent: s % 4 === 0 ? String(beat + 1) : "·" });
				if (s % 16 === 0) {
					num.textContent = `${s / 16 + 1}.1`;
					num.classList.add("ll-dm-bar-start");
				}
				grid.append(num);
			}
			labels.forEach((label, cls) => {
				const name = el("div", "ll-dm-label", { textContent: label });
				name.style.setProperty("--c", colours[cls]);
				grid.append(name);
				for (let s = first; s < last; s++) {
					const cell = el("div", "ll-dm-cell");
					cell.style.setProperty("--c", colours[cls]);
					cell.dataset.step = s;
					cell.dataset.cls = cls;
					if (Math.floor(s / 4) % 2 === 1) cell.classList.add("ll-dm-offbeat");
					if (s % 4 === 0 && s > first) cell.classList.add("ll-dm-beat-start");
					if (s % 16 === 0 && s > first) cell.classList.add("ll-dm-bar-start");
					cell.append(el("div", "ll-dm-note"));
					cells[s].push(cell);
					grid.append(cell);
				}
			});
			const playhead = el("div", "ll-dm-playhead");
			grid.append(playhead);
			playheads.push(playhead);
			lines.append(grid);
		}
		lastColumn = -1;
	}

	/** Hits and velocities of `pattern`; timing as played (with swing), so swing shows. */
	function paint() {
		const pattern = model.get("pattern");
		const played = model.get("_played");
		if (pattern.hits.length !== steps) build(pattern);
		let count = 0;
		for (let s = 0; s < steps; s++) {
			for (let c = 0; c < labels.length; c++) {
				const cell = cells[s][c];
				const on = pattern.hits[s][c] === 1;
				const v = pattern.velocities[s][c];
				const o = (played.hits[s]?.[c] === 1 ? played : pattern).offsets[s][c];
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
		midi.paint();
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
			for (const playhead of playheads) playhead.style.display = "none";
			lastColumn = -1;
		} else {
			const column = Math.floor(pos);
			if (column !== lastColumn && cells[column]) {
				const first = cells[column][0];
				const line = Math.floor(column / perLine);
				playheads.forEach((playhead, i) => {
					playhead.style.display = i === line ? "block" : "none";
				});
				playheads[line].style.left = `${first.offsetLeft}px`;
				playheads[line].style.width = `${first.offsetWidth}px`;
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
	lines.addEventListener("click", (event) => {
		const cell = event.target.closest(".ll-dm-cell");
		if (cell) toggleCell(Number(cell.dataset.step), Number(cell.dataset.cls));
	});
	// Space toggles play; keyup is swallowed too, or a focused button would click again.
	const isSpace = (event) => event.code === "Space" && !["INPUT", "SELECT"].includes(event.target.tagName);
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
	model.on("change:_played", paint);
	model.on("change:bpm", paintTransport);
	player.listeners.add(paintTransport);

	paint();
	paintTransport();
	return () => {
		player.listeners.delete(paintTransport);
		swing.dispose();
	};
}

/** The swing knob: drag up/down, scroll, arrow keys (shift: coarse); double-click resets. */
function swingKnob(model) {
	const root = el("div", "ll-dm-swing", {
		title:
			"Swing: plays the off-beat sixteenths late. 0% straight, 67% a triplet feel, 100% half a step late (a DAW's 75%). Drag, scroll or use the arrow keys; double-click for straight.",
	});
	const knob = el("div", "ll-dm-knob", { tabIndex: 0 });
	knob.setAttribute("role", "slider");
	knob.setAttribute("aria-label", "Swing");
	knob.setAttribute("aria-valuemin", "0");
	knob.setAttribute("aria-valuemax", "100");
	knob.append(el("div", "ll-dm-knob-pointer"));
	const value = el("span", "ll-dm-swing-value");
	root.append(el("span", "ll-dm-swing-label", { textContent: "Swing" }), knob, value);

	const set = (amount) => {
		const swing = Math.round(Math.min(1, Math.max(0, amount)) * 100) / 100;
		if (swing === model.get("swing")) return;
		model.set("swing", swing);
		model.save_changes();
	};
	const paint = () => {
		const swing = model.get("swing");
		knob.style.setProperty("--a", swing);
		knob.setAttribute("aria-valuenow", String(Math.round(swing * 100)));
		value.textContent = `${Math.round(swing * 100)}%`;
	};
	let drag = null;
	knob.addEventListener("pointerdown", (event) => {
		drag = { y: event.clientY, swing: model.get("swing") };
		knob.setPointerCapture(event.pointerId);
		knob.focus();
	});
	knob.addEventListener("pointermove", (event) => {
		if (drag) set(drag.swing + (drag.y - event.clientY) / SWING_DRAG_PX);
	});
	const release = () => {
		drag = null;
	};
	knob.addEventListener("pointerup", release);
	knob.addEventListener("pointercancel", release);
	knob.addEventListener(
		"wheel",
		(event) => {
			event.preventDefault();
			const pixels = event.deltaMode === WheelEvent.DOM_DELTA_LINE ? 40 * event.deltaY : event.deltaY;
			set(model.get("swing") - Math.sign(pixels) * Math.min(0.05, Math.max(0.01, Math.abs(pixels) / 2000)));
		},
		{ passive: false },
	);
	knob.addEventListener("dblclick", () => set(0));
	const keys = { ArrowUp: 1, ArrowRight: 1, ArrowDown: -1, ArrowLeft: -1, PageUp: 10, PageDown: -10 };
	knob.addEventListener("keydown", (event) => {
		let swing = null;
		if (event.key in keys) swing = model.get("swing") + keys[event.key] * (event.shiftKey ? 0.1 : 0.01);
		if (event.key === "Home") swing = 0;
		if (event.key === "End") swing = 1;
		if (swing === null) return;
		event.preventDefault();
		set(swing);
	});
	model.on("change:swing", paint);
	paint();
	return { root, dispose: () => model.off("change:swing", paint) };
}

/** MIDI out: a port picker (with Connect… until the page has MIDI access), clock, message. */
function midiControls(player) {
	const root = el("label", "ll-dm-midi", { title: "Play the groove live into a MIDI port (channel 10)" });
	const select = el("select", "ll-dm-midi-port");
	const clockBox = el("input", "ll-dm-midi-clock-input", { type: "checkbox" });
	const clock = el("label", "ll-dm-midi-clock", {
		title: "Also send MIDI clock (24 per quarter note) with start and stop, so a DAW can follow",
	});
	clock.append(clockBox, el("span", "", { textContent: "Clock" }));
	root.append(el("span", "ll-dm-midi-label", { textContent: "MIDI out" }), select);
	const wrapper = el("div", "ll-dm-midi-box");
	wrapper.append(root, clock);
	const message = el("div", "ll-dm-midi-msg", { role: "status" });

	const option = (value, text) => el("option", "", { value, textContent: text });
	function paint() {
		const access = registry.midiAccess;
		const outputs = access ? [...access.outputs.values()] : [];
		const options = [option("", "Off"), ...outputs.map((port) => option(port.id, port.name))];
		if (!outputs.length) options.push(option(CONNECT, access ? "Look for ports…" : "Connect…"));
		const chosen = player.midi.output;
		if (chosen && !outputs.includes(chosen)) options.push(option(chosen.id, chosen.name));
		const same =
			options.length === select.options.length &&
			options.every((o, i) => o.value === select.options[i].value && o.text === select.options[i].text);
		if (!same) select.replaceChildren(...options);
		select.value = chosen?.id ?? "";
		clockBox.checked = player.midi.clock;
		message.textContent = player.midi.message;
		message.style.display = player.midi.message ? "" : "none";
	}
	select.addEventListener("change", () => {
		const value = select.value;
		if (value === CONNECT) {
			select.value = "";
			player.connectMidi();
		} else {
			player.midi.setOutput(value ? registry.midiAccess.outputs.get(value) ?? null : null);
		}
	});
	clockBox.addEventListener("change", () => player.midi.setClock(clockBox.checked));
	return { root: wrapper, message, paint };
}

export default { initialize, render };
