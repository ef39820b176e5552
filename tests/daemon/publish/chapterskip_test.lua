-- Skips chapters by title, the way po5/chapterskip (https://github.com/po5/chapterskip) is documented to: written
-- for intro-daemon's tests from its README and default categories (chapterskip.lua at b268253, 2022-09-08), not
-- copied. Each category is a list of Lua patterns matched against the chapter title (case-sensitive); the user
-- lists the categories to skip in `skip=` (here: --script-opts=chapterskip_test-skip=opening;ending) and may add
-- categories as chapterskip's `categories=` does ("name>pattern/pattern; ...", e.g. recap>^Recap). Entering a
-- chapter of a skipped category seeks to the start of the next chapter not skipped (or the end of the file).

local options = require "mp.options"

local categories = {
    prologue = { "^Prologue", "^Intro" },
    opening = { "^OP", " OP$", "^Opening" },
    ending = { "^ED", " ED$", "^Ending" },
    preview = { "Preview$" },
}

local opts = { skip = "", categories = "" }
options.read_options(opts, "chapterskip_test")

for definition in string.gmatch(opts.categories, "[^;]+") do
    local name, patterns = string.match(definition, "^%s*([^>]-)%s*>(.*)$")
    if name then
        categories[name:lower()] = {}
        for pattern in string.gmatch(patterns, "[^/]+") do
            table.insert(categories[name:lower()], pattern)
        end
    end
end

local function skipped(title)
    if not title then
        return false
    end
    for name in string.gmatch(opts.skip, "[^;%s]+") do
        for _, pattern in ipairs(categories[name:lower()] or {}) do
            if string.match(title, pattern) then
                return true
            end
        end
    end
    return false
end

mp.observe_property("chapter", "number", function(_, current)
    local chapters = mp.get_property_native("chapter-list") or {}
    if current == nil or current < 0 or not chapters[current + 1] then
        return
    end
    if not skipped(chapters[current + 1].title) then
        return
    end
    for i = current + 2, #chapters do
        if not skipped(chapters[i].title) then
            mp.msg.info("skipping to chapter '" .. tostring(chapters[i].title) .. "'")
            mp.set_property_number("time-pos", chapters[i].time)
            return
        end
    end
    mp.set_property_number("time-pos", mp.get_property_number("duration"))
end)
