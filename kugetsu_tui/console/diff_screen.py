"""The diff screen (`v`): a session's worktree against its base, file by file.

The file list (committed, uncommitted, untracked, each with git's +/- counts) is read in a thread when
the screen opens; a file's patch is read in a thread only when it is highlighted. The patch is drawn on
Textual's line API (a ScrollView with `render_line`): only the lines on screen are highlighted and
turned into strips, each cached, so a 50,000-line patch scrolls as fast as a short one
(benchmarks/diff_screen.py). Text from the repository is shown literally, never as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Horizontal
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.text import printable
from kugetsu_tui.console.worker_errors import ReportsWorkerErrors
from kugetsu_tui.worktrees.diff import FileChange, FilePatch, Section, WorktreeDiff, load_patch, read_diff

if TYPE_CHECKING:
    from rich.syntax import Syntax

    from kugetsu_tui.worktrees.saved_work import WorktreeRecord

STRIP_CACHE = 2000  # strips kept: a few screens' worth each way
TAB = 4


class PatchView(ScrollView, can_focus=True):
    """One file's patch: lines coloured by kind (added, removed, hunk, header), code by its language."""

    COMPONENT_CLASSES = {"patch--added", "patch--removed", "patch--hunk", "patch--header", "patch--summary"}
    DEFAULT_CSS = """
    PatchView { background: $surface; }
    PatchView > .patch--added { background: $success 15%; }
    PatchView > .patch--removed { background: $error 15%; }
    PatchView > .patch--hunk { color: $accent; }
    PatchView > .patch--header { text-style: bold; }
    PatchView > .patch--summary { color: $warning; text-style: italic; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[str] = []
        self.summary: str | None = None
        self.lines_rendered = 0  # how many strips were built: what the benchmark and tests count
        self._strips: LRUCache[int, Strip] = LRUCache(STRIP_CACHE)
        self._syntax: Syntax | None = None

    def show(self, patch: FilePatch, path: str) -> None:
        """Replace what is shown; the view starts at the top."""
        self.summary = patch.summary
        self.lines = [printable(line.expandtabs(TAB)) for line in patch.lines]
        if self.summary:
            self.lines = [printable(self.summary), *self.lines]
        self._strips.clear()
        self._syntax = _syntax_for(path)
        width = max((len(line) for line in self.lines), default=0) + 1
        self.virtual_size = Size(width, len(self.lines))
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    # Jumps are instant: an animated scroll through 50,000 lines would draw every screen on the way.
    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = round(self.scroll_y) + y
        base = self.rich_style
        if index >= len(self.lines):
            return Strip.blank(width, base)
        strip = self._strips.get(index)
        if strip is None:
            self.lines_rendered += 1
            strip = self._strip(index)
            self._strips[index] = strip
        scroll_x = round(self.scroll_x)
        line_style = self._line_style(index)
        return strip.crop_extend(scroll_x, scroll_x + width, base + line_style if line_style else base)

    def _line_style(self, index: int) -> Style | None:
        line = self.lines[index]
        if self.summary and index == 0:
            return None
        if line.startswith("+") and not line.startswith("+++"):
            return self.get_component_rich_style("patch--added")
        if line.startswith("-") and not line.startswith("---"):
            return self.get_component_rich_style("patch--removed")
        return None

    def _strip(self, index: int) -> Strip:
        line = self.lines[index]
        text = self._highlight(index, line)
        line_style = self._line_style(index)
        text.stylize_before(self.rich_style + line_style if line_style else self.rich_style)
        segments = [segment for segment in text.render(self.app.console) if segment.text != "\n"]
        return Strip(Segment.simplify(segments), text.cell_len)

    def _highlight(self, index: int, line: str) -> Text:
        if self.summary and index == 0:
            return Text(line, style=self.get_component_rich_style("patch--summary"), end="")
        if line.startswith("@@"):
            return Text(line, style=self.get_component_rich_style("patch--hunk"), end="")
        if line.startswith(("diff ", "index ", "--- ", "+++ ", "new file", "deleted file", "similarity", "rename ")):
            return Text(line, style=self.get_component_rich_style("patch--header"), end="")
        if line[:1] in ("+", "-", " ") and self._syntax is not None:
            code = self._syntax.highlight(line[1:])
            code.rstrip()
            # The theme's colours only: the line's own background (added, removed) shows through.
            code.spans = [Span(s.start, s.end, _foreground(s.style)) for s in code.spans]
            code.style, code.end = "", ""
            return Text(line[0], end="") + code
        return Text(line, end="")


def _foreground(style: str | Style) -> Style:
    style = Style.parse(style) if isinstance(style, str) else style
    return Style(color=style.color, bold=style.bold, italic=style.italic, underline=style.underline)


def _syntax_for(path: str) -> Syntax | None:
    """A highlighter for the file's language, guessed from its name; None when Pygments knows none."""
    from rich.syntax import Syntax

    lexer = Syntax.guess_lexer(path, code="")
    if lexer in ("default", "text"):
        return None
    return Syntax("", lexer, theme="ansi_dark", background_color="default")


def change_prompt(change: FileChange) -> Text:
    """`   +12 -4  modified  src/app.py` (a rename: `old => new`), literally."""
    counts = "binary" if change.binary else f"+{change.additions} -{change.deletions}"
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{counts:>13} ", style="bold")
    text.append(f"{change.status:<9}", style="dim")
    moved = f"{printable(change.old_path)} => " if change.old_path else ""
    text.append(f"{moved}{printable(change.path)}")
    return text


class DiffScreen(ReportsWorkerErrors, Screen[None]):
    """The worktree's diff: the header names the base, the list its files, the right side one patch."""

    DEFAULT_CSS = """
    DiffScreen #diff-header { height: auto; padding: 0 1; background: $panel; }
    DiffScreen #diff-body { height: 1fr; }
    DiffScreen #files { width: 45%; max-width: 70; height: 1fr; border: none; }
    DiffScreen PatchView { width: 1fr; height: 1fr; border-left: tall $primary-muted; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("tab", "switch_focus", "Files / patch"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, record: WorktreeRecord, title: str) -> None:
        super().__init__()
        self.record = record
        self.title_text = title
        self.diff: WorktreeDiff | None = None
        self.shown: FileChange | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{printable(self.title_text)}: reading the diff…"), id="diff-header")
        with Horizontal(id="diff-body"):
            yield OptionList(id="files")
            yield PatchView(id="patch")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#files", OptionList).focus()
        self.read()

    @work(thread=True, group="diff", exclusive=True, exit_on_error=False)
    def read(self) -> None:
        try:
            diff = read_diff(self.record)
        except (KugetsuError, OSError) as exc:  # git's or the file system's words, in the header
            self.app.call_from_thread(self._failed, f"cannot read the diff: {exc}")
            return
        self.app.call_from_thread(self._show_diff, diff)

    def _failed(self, words: str) -> None:
        self.query_one("#diff-header", Static).update(Text(f"{printable(self.title_text)}: {printable(words)}"))

    def _show_diff(self, diff: WorktreeDiff) -> None:
        self.diff = diff
        header = Text(printable(self.title_text), style="bold")
        header.append(f"  {printable(diff.describe_base())}; {diff.totals().describe()}")
        self.query_one("#diff-header", Static).update(header)
        files = self.query_one("#files", OptionList)
        files.clear_options()
        options: list[Option | None] = []
        for section in Section:
            changes = diff.section(section)
            if not changes:
                continue
            if options:
                options.append(None)
            options.append(Option(Text(f"{section} ({len(changes)})", style="bold underline"), disabled=True))
            options.extend(Option(change_prompt(c), id=str(diff.files.index(c))) for c in changes)
        if not options:
            options.append(Option(Text("no changes against the base"), disabled=True))
        files.add_options(options)
        first = next((i for i, o in enumerate(files.options) if not o.disabled), None)
        if first is not None:
            files.highlighted = first

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.diff is None or event.option.id is None:
            return
        change = self.diff.files[int(event.option.id)]
        self.shown = change
        self.load(self.diff, change)

    @work(thread=True, group="patch", exclusive=True, exit_on_error=False)
    def load(self, diff: WorktreeDiff, change: FileChange) -> None:
        try:
            patch = load_patch(diff, change)
        except (KugetsuError, OSError) as exc:  # a file gone meanwhile, a git failure: said in the view
            patch = FilePatch([], f"cannot read this file's patch: {exc}")
        self.app.call_from_thread(self._show_patch, change, patch)

    def _show_patch(self, change: FileChange, patch: FilePatch) -> None:
        if change == self.shown:  # not one highlighted and left before its patch came
            self.query_one(PatchView).show(patch, change.path)

    def action_switch_focus(self) -> None:
        files, patch = self.query_one("#files", OptionList), self.query_one(PatchView)
        (patch if files.has_focus else files).focus()

    def action_reload(self) -> None:
        self.read()

    def action_close(self) -> None:
        self.dismiss()
