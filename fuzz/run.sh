#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS (default 300) each, seeded from
# the REFI-QDA reference exports, the interop test fixtures and small
# hand-written tables and subtitles. Needs the nightly toolchain and
# `cargo install cargo-fuzz`. A crash leaves its input in
# fuzz/artifacts/<target>/; fix the bug, then copy the input to
# fuzz/regressions/<target>/ so `cargo test -p rupturelab-interop --test
# robustness` keeps checking it.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-300}"
fixtures=../crates/rupturelab-interop/tests/fixtures/refi-qda
mkdir -p corpus/{qde,qdc,responses_csv,responses_xlsx,subtitles}
cp "$fixtures"/*.qde "$fixtures"/*.qdpx corpus/qde/
cp "$fixtures"/*.qdc corpus/qdc/
printf '\000participant,orientation,S1/Q1,S1/Q2\nP01,CBT,"She pulled away, I think.",4\nP02,Psikodinamik,İlişki koptu,2\n' > corpus/responses_csv/generic
printf '\001ResponseId,Q1_S1,Q2_S1\n"Response ID","Why?","Rate"\n"{""ImportId"":""x""}","{}","{}"\nR_1,text,3\n' > corpus/responses_csv/qualtrics
printf '\003Timestamp\tparticipant\tWhat happened?\n2024/03/01 10:15:30\tP01\tWithdrawal\n' > corpus/responses_csv/googleforms
printf '\000WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v T>Hello <i>there</i>\n\n00:00:05.000 --> 00:00:07.500\n<v P>İyi değilim.\n' > corpus/subtitles/vtt
printf '\0011\n00:00:01,000 --> 00:00:04,000\nT: Hello\n\n2\n00:00:05,000 --> 00:00:07,500\nP: Fine.\n' > corpus/subtitles/srt
printf '\002T: Hello.\nP: Hi\nstill me\n' > corpus/subtitles/txt
# An XLSX seed: the example study's table export, when the binary is built.
if [ -x ../target/release/rupturelab ] && [ ! -s corpus/responses_xlsx/export.xlsx ]; then
  tmp=$(mktemp -d)
  ../target/release/rupturelab demo --db "$tmp/d.rupturelab" >/dev/null 2>&1 || true
  ../target/release/rupturelab export-table --db "$tmp/d.rupturelab" --what responses --out corpus/responses_xlsx/export.xlsx >/dev/null 2>&1 || true
  rm -rf "$tmp"
fi
for t in qde qdc responses_csv responses_xlsx subtitles; do
  echo "== $t ($secs s)"
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=262144 2>&1 \
    | grep -E "^#[0-9]+ +(DONE|pulse)|SUMMARY|ERROR|panicked|Done" | tail -3
done
