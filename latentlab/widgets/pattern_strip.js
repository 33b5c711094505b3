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
	paint();
}

export default { render };
