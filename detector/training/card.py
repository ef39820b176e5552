"""The model card: what a checkpoint is and how it was trained, written beside the weights as Markdown."""

from __future__ import annotations

import json

from detector.checkpoint import Checkpoint, postprocessing_dict


def round_summary(checkpoint: Checkpoint) -> dict[str, object]:
    c = checkpoint.card
    keys = ("trained", "corpus", "train_config", "fit_episodes", "tune_episodes", "fit_shows", "tune_shows")
    return {"version": checkpoint.version, "train_seconds": c.get("train_seconds"), **{k: c.get(k) for k in keys}}


def model_card(checkpoint: Checkpoint) -> str:
    c = checkpoint.card
    lines = [
        f"# Model card: {checkpoint.version}",
        "",
        "The seed network (EmbeddingAudio (1,3) CNN + EmbeddingImage (3,3) CNN -> LSTM 300 -> logit per second),",
        f"with {checkpoint.dims.n_extra} cross-episode repetition features beside the 1000-d embedding"
        if checkpoint.dims.n_extra
        else "seed only (no season context),",
        "DBSCAN intervals. Written by "
        + ("`intro-daemon adapt`" if "pseudo_labels" in c else "`python -m detector.train`")
        + "; regenerate rather than edit.",
        "",
        f"- sequence: each second from the LSTM over its own {checkpoint.dims.context_s} s window "
        f"({checkpoint.dims.lookahead_s} s after it{', read from both ends' if checkpoint.dims.two_sided else ''}), "
        "wherever it is in the file"
        if checkpoint.dims.context_s
        else "- sequence: the LSTM reads the whole episode from its first second (the seed)",
        f"- trained: {c.get('trained')} in {c.get('train_seconds')} s on this machine's CPU",
        *([_library_line(c)] if "pseudo_labels" in c else []),
        f"- corpus: {c.get('corpus')}",
        f"- fitting shows ({c.get('fit_episodes')} episodes): {', '.join(c.get('fit_shows', []))}",
        f"- judged show by show, each group by a network fitted on the others (pick the epoch and the interval "
        f"parameters, and whether the version is kept): {'; '.join(', '.join(fold) for fold in c['folds'])}"
        if "folds" in c
        else f"- tuning shows ({c.get('tune_episodes')} episodes; pick the epoch and the interval parameters): "
        f"{', '.join(c.get('tune_shows', []))}"
        + (f" (from {c['tune_corpus']}: held-out recordings)" if c.get("tune_corpus") else ""),
        *(
            f"- continued from {r['version']} (trained {r['trained']} in {r['train_seconds']} s on {r['corpus']}: "
            f"{r['fit_episodes']} fitting, {r['tune_episodes']} tuning episodes)"
            for r in c.get("earlier_rounds", [])
        ),
        f"- frame mode: {checkpoint.frame_mode.value}",
        *(
            [f"- season rule re-applied, edge corrections re-measured (network unchanged): {c['rule_retuned']}"]
            if "rule_retuned" in c
            else []
        ),
        f"- interval parameters: {json.dumps(postprocessing_dict(checkpoint.intervals, checkpoint.season_rule))}",
        f"- hyper-parameters: {json.dumps(c.get('train_config'))}",
        f"- dimensions: {json.dumps(checkpoint.dims.to_dict())}",
        "",
        "## Tuning-show figures (not a held-out result; see the README for `intro-daemon eval` on other shows)",
        "",
        "```",
        json.dumps(c.get("tune_report"), indent=1),
        "```",
        "",
        *_held_out_lines(c.get("held_out", {})),
        "## Epochs",
        "",
        "```",
        *(json.dumps(h) for h in c.get("history", [])),
        "```",
        "",
    ]
    return "\n".join(lines)


def _library_line(c: dict[str, object]) -> str:
    """`intro-daemon adapt`: what the version learned from (its list shows this line)."""
    labels = c["pseudo_labels"]
    assert isinstance(labels, dict)
    return (
        f"- library: {labels['episodes']} episodes ({labels['with_intro']} with an intro) of "
        f"{labels['shows']} shows, labelled by their seasons' repetition; loss of the shows judged without them "
        f"{labels['tune_loss_before']} -> {labels['tune_loss_after']} per episode"
    )


def _held_out_lines(held_out: dict[str, dict[str, object]]) -> list[str]:
    """`train --held-out`: each corpus's figures, every episode alone, by tag and by where the intro starts."""
    lines = []
    for root, measured in held_out.items():
        lines += [
            f"## Held out: {root}, every episode alone (measured {measured['measured']})",
            "",
            "Neither fitted nor tuned on. `intro  <where>` rows: episodes by where their intro starts.",
            "",
            "```",
            *(str(line) for line in measured["lines"]),  # type: ignore[attr-defined]
            "```",
            "",
        ]
    return lines
