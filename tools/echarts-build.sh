#!/usr/bin/env bash
# tools/echarts-build.sh — regenerate the trimmed Apache ECharts build that the
# dashboard uses (firmware/web/assets/vendor/echarts.min.js) from npm.
#
# Only the chart types and components the pages use are bundled (bar and line
# charts; grid, tooltip, legend, title, data zoom off; the SVG renderer), so the
# box serves ~half of the full build. The result is checked in: hallqd, the
# Debian package and the cross builds need no npm, and the pages load nothing
# from the internet. Run this only to move to another ECharts version, then
# commit the two files it writes (and its licence files).
#
#   tools/echarts-build.sh [VERSION]      (default: the version below)
set -euo pipefail
version=${1:-5.5.1}
esbuild_version=0.21.5
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$here/firmware/web/assets/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts "echarts@$version" "esbuild@$esbuild_version" >/dev/null
cat > entry.js <<'JS'
// The chart types and components the dashboard's 报表 and 统计 use; add one
// here (and rerun) before a page uses it.
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, LegendComponent, TitleComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
echarts.use([BarChart, LineChart, GridComponent, TooltipComponent, LegendComponent, TitleComponent, SVGRenderer]);
window.echarts = echarts;
JS
esbuild=node_modules/@esbuild/$(node -p 'process.platform + "-" + (process.arch === "x64" ? "x64" : process.arch)')/bin/esbuild
[ -x "$esbuild" ] || esbuild=node_modules/.bin/esbuild
mkdir -p "$out"
{
    echo "/*! Apache ECharts $version (https://echarts.apache.org), trimmed by tools/echarts-build.sh:"
    echo " * bar, line; grid, tooltip, legend, title; SVG renderer."
    echo " * Licensed under the Apache License 2.0: see echarts.LICENSE and echarts.NOTICE. */"
    "$esbuild" entry.js --bundle --minify --format=iife --target=es2017 --legal-comments=none
} > "$out/echarts.min.js"
cp node_modules/echarts/LICENSE "$out/echarts.LICENSE"
cp node_modules/echarts/NOTICE "$out/echarts.NOTICE"
# zrender (ECharts' renderer) is BSD-3-Clause: its licence goes with it
cp node_modules/zrender/LICENSE "$out/zrender.LICENSE"
echo "wrote $out/echarts.min.js ($(wc -c < "$out/echarts.min.js") bytes), ECharts $version"
