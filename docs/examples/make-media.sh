#!/bin/sh
# docs/examples/make-media.sh — placeholder media for the example sources.
#
# Writes every media file that docs/examples/*/schedule.ini names and that
# does not exist yet: with ffmpeg, real PNG/JPEG test cards and short MP4
# clips; without it, tiny stand-in files (publish only hashes and copies
# media, so the whole publish/verify/inspect flow works with them; a real
# player needs real media). Your own files with the same names are never
# overwritten.
#
#   docs/examples/make-media.sh            # all examples
#   docs/examples/make-media.sh restaurant # one
set -eu
here=$(cd "$(dirname "$0")" && pwd)
have_ffmpeg=no
command -v ffmpeg >/dev/null 2>&1 && have_ffmpeg=yes

make_one() { # make_one FILE LABEL
    file=$1 label=$2
    [ -e "$file" ] && { echo "keep   $file"; return; }
    case "$have_ffmpeg:$file" in
    yes:*.png|yes:*.jpg|yes:*.jpeg)
        ffmpeg -loglevel error -f lavfi -i "testsrc2=size=1920x1080" -frames:v 1 \
            -vf "drawtext=text='$label':fontsize=96:x=(w-tw)/2:y=(h-th)/2:box=1" "$file" 2>/dev/null ||
        ffmpeg -loglevel error -f lavfi -i "testsrc2=size=1920x1080" -frames:v 1 "$file" ;;
    yes:*.mp4)
        ffmpeg -loglevel error -f lavfi -i "testsrc2=size=1280x720:rate=25" -t 6 \
            -pix_fmt yuv420p "$file" ;;
    *)
        printf 'stoa example placeholder: %s\n' "$label" > "$file" ;;
    esac
    echo "made   $file"
}

for dir in "$here"/${1:-*}/; do
    dir=${dir%/}
    ini="$dir/schedule.ini"
    [ -f "$ini" ] || continue
    # Playlist item lines: inside [playlist ...] sections, the first word
    # (or "quoted words") is the file; URLs are skipped.
    awk '
        /^[ \t]*\[/ { inpl = ($0 ~ /^[ \t]*\[playlist /); next }
        inpl && !/^[ \t]*([#;]|$)/ {
            line = $0; sub(/^[ \t]+/, "", line)
            if (line ~ /^"/) { sub(/^"/, "", line); sub(/".*$/, "", line) } else { sub(/[ \t].*$/, "", line) }
            if (line !~ /^https?:\/\//) print line
        }' "$ini" | sort -u | while IFS= read -r name; do
        make_one "$dir/$name" "$name"
    done
done
