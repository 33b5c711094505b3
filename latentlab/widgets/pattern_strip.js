// PatternStrip front end: a row of groove pictures (SVG made in Python); a click tells Python.

function render({ model, el: host }) {
	const root = document.createElement("div");
	root.className = "ll-strip";
	host.append(root);

	function paint() {
		const title = model.get("title");
		const captions = model.get("captions");
		const selected = model.get("selected");
		const items = model.get("svgs").map((svg, index) => {
			const item = document.createElement("button");
			item.type = "button";
			item.className = "ll-strip-item";
			item.classList.toggle("ll-strip-selected", index === selected);
			item.dataset.index = index;
			item.title = "Click to play";
			item.innerHTML = svg;
			const caption = document.createElement("span");
			caption.className = "ll-strip-caption";
			caption.textContent = captions[index] ?? "";
			item.append(caption);
			item.addEventListener("click", () => model.send({ type: "click", index }));
			return item;
		});
		const heading = document.createElement("div");
		heading.className = "ll-strip-title";
		heading.textContent = title;
		heading.hidden = !title;
		root.replaceChildren(heading, ...items);
	}

	model.on("change:svgs", paint);
	model.on("change:captions", paint);
	model.on("change:title", paint);
	model.on("change:selected", () => {
		const selected = model.get("selected");
		for (const item of root.querySelectorAll(".ll-strip-item")) {
			item.classList.toggle("ll-strip-selected", Number(item.dataset.index) === selected);
		}
	});
	// Following a chain: the DrumMachine player with uid `_follow` loops all the grooves one
	// after the other; light up the one under its playhead.
	let following = false;
	function follow() {
		const uid = model.get("_follow");
		const items = root.querySelectorAll(".ll-strip-item");
		const player = globalThis.latentlab?.drumMachinePlayers?.get(uid);
		const position = player?.playhead?.();
		const per = player ? player.pattern.hits.length / Math.max(items.length, 1) : 0;
		const current = position == null || !Number.isInteger(per) ? -1 : Math.floor(position / per);
		items.forEach((item, index) => item.classList.toggle("ll-strip-playing", index === current));
		following = Boolean(uid);
		if (following) requestAnimationFrame(follow);
	}
	model.on("change:_follow", () => !following && follow());
	paint();
	follow();
}

export default { render };
