"""The web console's static page (index.html, console.js, console.css), served by tiergate.api.console.

Plain HTML, CSS and JavaScript: no build step, no library. The charts are drawn as inline SVG.
"""
