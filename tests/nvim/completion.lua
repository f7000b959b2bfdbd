-- Scenario: completion with <C-x><C-o> (vim.lsp.omnifunc) as a user types: a function name
-- from an included header, then the members of a local's struct after `->`.
-- env: KERNEL_LSP_FILE (absolute path), KERNEL_LSP_LINE (0-based line after which the typed
-- lines go, inside a function body), KERNEL_LSP_WORD (a partial name), KERNEL_LSP_MEMBER
-- (an expression ending in -> or .)
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)")
local H = dofile(here .. "harness.lua")
dofile(here .. "kernel_lsp_07.lua")

local ESC = vim.api.nvim_replace_termcodes("<Esc>", true, false, true)
local OMNI = vim.api.nvim_replace_termcodes("<C-x><C-o>", true, false, true)

-- type `text` on a new line below `line` (as `o` does), ask for omni completion at its end and
-- return what the popup menu offers (complete_info) once the server's answer is shown
local function complete_after(bufnr, line, text)
  local got, started = nil, vim.loop.hrtime()
  local function poll()
    local info = vim.fn.complete_info({ "items", "pum_visible", "mode" })
    if #info.items > 0 or vim.loop.hrtime() - started > 20e9 then
      got = info
      vim.api.nvim_feedkeys(ESC, "n", false) -- leave Insert mode: feedkeys below returns
    else
      vim.defer_fn(poll, 20)
    end
  end
  vim.api.nvim_win_set_cursor(0, { line + 1, 0 })
  vim.defer_fn(poll, 20)
  -- "x!": run the keys and stay in Insert mode until the poll above types <Esc>
  vim.fn.feedkeys("o" .. text .. OMNI, "x!")
  local typed = vim.api.nvim_buf_get_lines(bufnr, line + 1, line + 2, false)[1]
  vim.cmd("silent! undo")
  return got, typed, (vim.loop.hrtime() - started) / 1e6
end

H.run(function()
  vim.cmd("edit " .. vim.fn.fnameescape(vim.env.KERNEL_LSP_FILE))
  local bufnr = vim.api.nvim_get_current_buf()
  H.client_of(bufnr)
  H.emit("attached", { omnifunc = vim.bo[bufnr].omnifunc })
  local line = tonumber(vim.env.KERNEL_LSP_LINE)
  local info, typed, ms
  -- the model may still be loading: ask again until the server offers the header's names
  for _ = 1, 30 do
    info, typed, ms = complete_after(bufnr, line, "\t" .. vim.env.KERNEL_LSP_WORD)
    if #info.items > 0 then break end
    vim.wait(500)
  end
  H.emit("word", { items = info.items, mode = info.mode, typed = typed, ms = ms })
  info, typed, ms = complete_after(bufnr, line, "\t" .. vim.env.KERNEL_LSP_MEMBER)
  H.emit("member", { items = info.items, mode = info.mode, typed = typed, ms = ms })
end)
