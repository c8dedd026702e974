#!/usr/bin/env bash
# Paper Table 6a at small scale: word-level language models on the embedded State of the Union
# corpus (`urgate lm prepare --min-count 20`: vocabulary 5,927; words seen fewer than 20 times
# become <unk>, which roughly halves the step time against --min-count 5's 12,773 since the
# output layer dominates it) with -, C- (Tmax 8), U-, OM- (master gates downsized C=32, the
# paper's LM setting) and UR- LSTMs, 3 seeds each, at an equal token budget: 1 layer, hidden =
# embedding 256 (OM-: 8 master units), tied, dropout 0.1, BPTT 64, batch 32, Adam lr 1e-3,
# clip 0.1 (the paper's), STEPS optimizer steps each (default 240: 492k tokens, 0.25 epoch);
# validation word perplexity every STEPS/6 steps, test at the end (paper: WikiText-103, hidden
# 3072, many epochs). The smoke check uses hidden 64 (OM-: 2 master units; with 1 the cumax
# master gates are constant and the cell never updates).
# Resumable: run it again and finished runs are skipped, unfinished ones resume.
# Environment: OUT (default runs/repro-lm), DOCS (default packages/train/docs), SEEDS (default 3),
# STEPS, JOBS (runs at a time, default 1), URGATE_REPRO_SMOKE=1 (a tiny pipeline check).
source "$(dirname "$0")/repro-common.sh"
OUT="${OUT:-runs/repro-lm$SMOKE_SUFFIX}"
if smoke; then
  STEPS="${STEPS:-4}"
  scale=(--hidden-size 64 --bptt 16 --batch-size 4 --steps "$STEPS" --eval-every 2 --checkpoint-every 2)
else
  STEPS="${STEPS:-240}"
  scale=(--hidden-size 256 --bptt 64 --batch-size 32 --steps "$STEPS" --eval-every $((STEPS / 6)) --checkpoint-every 50)
fi
CACHE="$OUT/cache"
urgate lm prepare --min-count 20 --cache "$CACHE"
nice node tools/repro-lm.mjs "$OUT" "$CACHE" -,C-,U-,OM-,UR- "${SEEDS:-3}" -- \
  "${scale[@]}" --layers 1 --lr 1e-3 --clip 0.1 --dropout 0.1 --t-max 8 --downsize 32
publish lm "$OUT"
