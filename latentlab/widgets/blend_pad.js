// BlendPad front end: a square pad with four corner grooves; dragging the puck sets `xy`.
// Moves reach Python at most every THROTTLE_MS (the last one always), so a drag stays smooth
// while each move decodes and plays a new blend.

const THROTTLE_MS = 60;
const KEY_STEP = 0.05;
const INSET = 12; // pixels: the puck's radius (11, border included) and one more

const clamp = (v) => Math.min(1, Math.max(0, v));

function div(className) {
	const node = document.createElement("div");
	node.className = className;
	return node;
}

function render({ model, el: host }) {
	const root = div("ll-bp");
	const corners = [0, 1, 2, 3].map((i) => div(`ll-bp-corner ll-bp-corner-${i}`));
	const pad = div("ll-bp-pad");
	pad.tabIndex = 0;
	pad.title = "Drag to blend the four corner grooves (arrow keys move too)";
	const shade = div("ll-bp-shade");
	const puck = div("ll-bp-puck");
	const letters = ["A", "B", "C", "D"].map((name, i) => {
		const letter = div(`ll-bp-letter ll-bp-letter-${i}`);
		letter.textContent = name;
		return letter;
	});
	pad.append(shade, ...letters, puck);
	const caption = div("ll-bp-caption");
	root.append(corners[0], corners[1], pad, corners[2], corners[3], caption);
	host.append(root);

	function paintCorners() {
		const svgs = model.get("corner_svgs");
		const captions = model.get("corner_captions");
		corners.forEach((card, i) => {
			card.innerHTML = svgs[i] ?? "";
			const text = div("ll-bp-corner-caption");
			text.textContent = captions[i] ?? "";
			card.title = captions[i] ?? "";
			card.append(text);
		});
	}

	function paintShade() {
		const grid = model.get("shade");
		shade.style.gridTemplateColumns = `repeat(${grid[0]?.length || 1}, 1fr)`;
		shade.style.gridTemplateRows = `repeat(${grid.length || 1}, 1fr)`;
		shade.replaceChildren(
			...grid.flat().map((value) => {
				const cell = div("ll-bp-cell");
				cell.style.background = `rgba(255, 122, 69, ${(0.08 + 0.62 * value).toFixed(3)})`;
				return cell;
			}),
		);
		caption.textContent = model.get("shade_caption");
	}

	// The puck's centre stays INSET pixels inside the pad's edges, so it is never cut off.
	function place([x, y]) {
		puck.style.left = `calc(${INSET}px + ${x} * (100% - ${2 * INSET}px))`;
		puck.style.top = `calc(${INSET}px + ${y} * (100% - ${2 * INSET}px))`;
	}

	let last = 0;
	let timer = null;
	let pending = null;
	function flush() {
		clearTimeout(timer);
		timer = null;
		if (!pending) return;
		last = performance.now();
		model.set("xy", pending);
		model.save_changes();
		pending = null;
	}
	function send(xy) {
		place(xy);
		pending = xy;
		const wait = THROTTLE_MS - (performance.now() - last);
		if (wait <= 0) flush();
		else timer ??= setTimeout(flush, wait);
	}
	function at(event) {
		const box = pad.getBoundingClientRect();
		const left = box.left + pad.clientLeft + INSET; // inside the border, as the puck is placed
		const top = box.top + pad.clientTop + INSET;
		const x = (event.clientX - left) / (pad.clientWidth - 2 * INSET);
		const y = (event.clientY - top) / (pad.clientHeight - 2 * INSET);
		return [clamp(x), clamp(y)];
	}

	let dragging = false;
	pad.addEventListener("pointerdown", (event) => {
		dragging = true;
		pad.setPointerCapture(event.pointerId);
		pad.focus();
		send(at(event));
	});
	pad.addEventListener("pointermove", (event) => dragging && send(at(event)));
	const end = () => {
		dragging = false;
		flush();
	};
	pad.addEventListener("pointerup", end);
	pad.addEventListener("pointercancel", end);
	pad.addEventListener("keydown", (event) => {
		const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
		const move = moves[event.key];
		if (!move) return;
		event.preventDefault();
		const [x, y] = pending ?? model.get("xy");
		send([clamp(x + move[0] * KEY_STEP), clamp(y + move[1] * KEY_STEP)]);
	});

	model.on("change:corner_svgs", paintCorners);
	model.on("change:corner_captions", paintCorners);
	model.on("change:shade", paintShade);
	model.on("change:shade_caption", paintShade);
	model.on("change:xy", () => !dragging && place(model.get("xy")));
	paintCorners();
	paintShade();
	place(model.get("xy"));
}

export default { render };
