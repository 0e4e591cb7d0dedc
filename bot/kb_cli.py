"""`baton kb test` and `baton kb eval`: how the built-in agent decides, for one message or a question file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.config import AgentSettings, ConfigError, load_settings

kb_app = typer.Typer(no_args_is_help=True, help="The FAQ knowledge base.")

ConfigOption = Annotated[Path, typer.Option("--config", "-c",
                                           help="Path to config.toml (its \\[agent] table is used).")]
KbOption = Annotated[Path | None, typer.Option("--kb", help="Knowledge base file (default: agent.knowledge_base "
                                                             "of the config).")]


def _agent_settings(config: Path, kb: Path | None) -> AgentSettings:
    """[agent] from the config file if there is one; --kb alone is enough to try a knowledge base."""
    if config.exists():
        try:
            settings = load_settings(config).agent
        except ConfigError as exc:
            typer.secho(f"Configuration problems in {config}:", fg="red", err=True)
            for problem in exc.problems:
                typer.echo(f"  - {problem}", err=True)
            raise typer.Exit(2) from None
    elif kb is None:
        typer.secho(f"{config} not found: pass --config, or --kb with a knowledge base file", fg="red", err=True)
        raise typer.Exit(2)
    else:
        settings = AgentSettings()
    return settings.model_copy(update={"knowledge_base": kb}) if kb is not None else settings


def _agent(settings: AgentSettings):  # type: ignore[no-untyped-def]
    from bot.agent.registry import AgentConfigError, build_faq_agent

    try:
        agent = build_faq_agent(settings, background=False)
    except AgentConfigError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    if agent.indexing_error:
        typer.secho(f"knowledge base {settings.knowledge_base}: {agent.indexing_error}", fg="red", err=True)
        raise typer.Exit(2)
    return agent


@kb_app.command("test")
def kb_test(question: str, config: ConfigOption = Path("config.toml"), kb: KbOption = None,
            limit: int = 3) -> None:
    """Show the entries that best match a message (meaning and word scores) and what the agent would do."""
    agent = _agent(_agent_settings(config, kb))
    decision = agent.decide(question)
    if decision.read_as:
        typer.echo(f"read as: {decision.read_as}")
    typer.echo("meaning  question  words  entry")
    for scored in decision.ranked[:limit]:
        typer.echo(f"  {scored.dense:.3f}     {scored.question:.3f}  {scored.lexical:5.2f}  {scored.title}")
    typer.echo(f"margin {decision.margin:.2f} sd; the question alone agrees: {'yes' if decision.agree else 'no'}")
    verdict = {"answer": "answers with", "clarify": "asks which one is meant:", "handoff": "hands off:"}
    typer.echo(f"decision: {verdict[decision.action]} {decision.why}")


@kb_app.command("eval")
def kb_eval(questions: Annotated[Path, typer.Argument(help="JSONL: {\"q\": ..., \"expect\": entry or null, "
                                                           "\"kind\": ...} per line.")],
            config: ConfigOption = Path("config.toml"), kb: KbOption = None,
            sweep: Annotated[bool, typer.Option(help="Also suggest thresholds for this question file.")] = False,
            errors: Annotated[bool, typer.Option(help="List every miss.")] = True) -> None:
    """Run the agent over labelled questions: accuracy per kind, hand-offs, wrong answers, confusions."""
    from bot.agent.evaluation import Evaluation, QuestionFileError, load_questions, score

    settings = _agent_settings(config, kb)
    agent = _agent(settings)
    try:
        items = load_questions(questions, [e.title for e in agent.entries])
    except QuestionFileError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    evaluation = Evaluation(agent, items)
    report = score(items, evaluation.decisions)
    t = agent.thresholds
    mode = ("words only" if evaluation.words_only else
            f"{settings.embedding_model}; answer_threshold {t.agree}, answer_threshold_alone {t.alone}, "
            f"answer_margin {t.margin}")
    typer.echo(f"{len(items)} questions, {len(agent.entries)} entries ({mode})\n")
    _print_report(report)
    if errors and report.confusions:
        typer.echo("\nmisses:")
        for question, answered, why in report.confusions:
            typer.echo(f"  line {question.line} [{question.kind}] {question.text[:90]!r}")
            typer.echo(f"      expected {question.expect or 'hand-off'}; got {answered or 'hand-off'} ({why})")
    if sweep:
        best = evaluation.sweep()
        if not best:
            typer.echo("\nsweep: nothing to sweep (words-only matching), or no setting keeps wrong answers "
                       "at 5% or less")
        typer.echo("\nsweep (best overall with at most 5% of questions answered wrongly):")
        for thresholds, found in best:
            typer.echo(f"  answer_threshold = {thresholds.agree}  answer_threshold_alone = {thresholds.alone}  "
                       f"answer_margin = {thresholds.margin}  ->  overall {found.overall:.3f}, "
                       f"wrong {found.wrong}")


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    def pct(a: int, b: int) -> str:
        return f"{a:>4}/{b:<4} {100 * a / b:5.1f}%" if b else "   n/a"

    typer.echo(f"overall (right answer or right hand-off)  {pct(report.right, report.total)}")
    typer.echo(f"in-scope answered right                   {pct(report.in_scope_right, report.in_scope)}")
    typer.echo(f"in-scope handed off                       {pct(report.in_scope_handoff, report.in_scope)}")
    typer.echo(f"should hand off, handed off               {pct(report.null_handoff, report.null)}")
    typer.echo(f"wrong answers                             {pct(report.wrong, report.total)}")
    typer.echo(f"asked which entry (counted as hand-off)   {report.clarified:>4}, right entry among the "
               f"choices {report.clarified_with_right_choice}")
    typer.echo("per kind:")
    for kind, (right, total) in report.per_kind.items():
        typer.echo(f"  {kind:<16} {pct(right, total)}")
