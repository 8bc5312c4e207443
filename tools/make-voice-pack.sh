#!/bin/sh
# tools/make-voice-pack.sh OUTDIR — make hallq's default voice pack with
# espeak-ng, so a hall speaks out of the box with nothing to download.
#
# The pack is a folder of short clips, one word each, all 16 kHz mono signed
# 16-bit WAV with the silence trimmed from both ends (drivers/voice.c joins
# them with its own gaps and refuses any other format):
#
#   OUTDIR/zh/qing.wav hao.wav dao.wav chuangkou.wav banli.wav   请 号 到 窗口 办理
#   OUTDIR/zh/0.wav .. 9.wav shi.wav bai.wav                     零..九 十 百
#   OUTDIR/zh/A.wav .. Z.wav                                     letters, read the Chinese way
#   OUTDIR/en/number.wav please_go_to.wav window.wav hundred.wav
#   OUTDIR/en/0.wav .. 19.wav 20.wav 30.wav .. 90.wav A.wav .. Z.wav
#
# A hall replaces any clip by putting a recording with the same name in its
# own pack folder (voice.pack in the configuration).
#
# Mandarin words are given as pinyin to espeak-ng's cmn-latn-pinyin voice
# (the cmn voice with pinyin input): Debian 12's cmn dictionary reads the
# tone digits of some characters (号, 百, 零) as English numbers. Letters use
# the plain cmn voice, which says them as Chinese halls do (A = "ei", B = "bi").
set -eu
out=${1:?usage: make-voice-pack.sh OUTDIR}
command -v espeak-ng >/dev/null || { echo "make-voice-pack: espeak-ng is not installed (apt-get install espeak-ng)" >&2; exit 1; }
command -v sox >/dev/null || { echo "make-voice-pack: sox is not installed (apt-get install sox)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/zh" "$tmp/en"

# say VOICE TEXT OUTFILE: speak, then convert to the pack format and trim
# leading and trailing silence (below 0.3 % of full scale).
say() {
    espeak-ng -v "$1" -s 150 -w "$tmp/raw.wav" "$2"
    sox -V1 -D -v 0.9 "$tmp/raw.wav" -r 16000 -c 1 -b 16 -e signed-integer "$3" \
        silence 1 0.01 0.3% reverse silence 1 0.01 0.3% reverse
    [ -s "$3" ] || { echo "make-voice-pack: espeak-ng made no sound for '$2'" >&2; exit 1; }
}

py=cmn-latn-pinyin
say $py "qing3" "$tmp/zh/qing.wav"
say $py "hao4" "$tmp/zh/hao.wav"
say $py "dao4" "$tmp/zh/dao.wav"
say $py "chuang1kou3" "$tmp/zh/chuangkou.wav"
say $py "ban4li3" "$tmp/zh/banli.wav"
say $py "shi2" "$tmp/zh/shi.wav"
say $py "bai3" "$tmp/zh/bai.wav"
i=0
for d in ling2 yi1 er4 san1 si4 wu3 liu4 qi1 ba1 jiu3; do
    say $py "$d" "$tmp/zh/$i.wav"
    i=$((i + 1))
done

say en "number" "$tmp/en/number.wav"
say en "please go to" "$tmp/en/please_go_to.wav"
say en "window" "$tmp/en/window.wav"
say en "hundred" "$tmp/en/hundred.wav"
for n in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 30 40 50 60 70 80 90; do
    say en "$n" "$tmp/en/$n.wav"
done

for l in A B C D E F G H I J K L M N O P Q R S T U V W X Y Z; do
    say cmn "$l" "$tmp/zh/$l.wav"
    say en "$l" "$tmp/en/$l.wav"
done

cat >"$tmp/README" <<'TXT'
hallq default voice pack, generated at build time by tools/make-voice-pack.sh
with espeak-ng and sox. 16 kHz mono signed 16-bit WAV, one word per clip.
Replace any clip by putting a recording of the same name in the folder that
the configuration's voice.pack names.
TXT

rm -f "$tmp/raw.wav"

# Replace the pack in one step so a running hallqd never sees half of one.
rm -rf "$out.new"
mkdir -p "$(dirname "$out")"
mv "$tmp" "$out.new"
trap - EXIT
rm -rf "$out"
mv "$out.new" "$out"
chmod 755 "$out"
