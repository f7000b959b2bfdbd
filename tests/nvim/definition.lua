-- Scenario: definition and hover on a call, the `gd` mapping's jump, and one client per root.
-- env: KERNEL_LSP_FILE (absolute path), KERNEL_LSP_LINE, KERNEL_LSP_COL (0-based, UTF-16 = bytes
-- for ASCII), KERNEL_LSP_OTHER (a header elsewhere in the same tree)
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)")
local H = dofile(here .. "harness.lua")
dofile(here .. "kernel_lsp_07.lua")

H.run(function()
  vim.cmd("edit " .. vim.fn.fnameescape(vim.env.KERNEL_LSP_FILE))
  local bufnr = vim.api.nvim_get_current_buf()
  local client = H.client_of(bufnr)
  local line, col = tonumber(vim.env.KERNEL_LSP_LINE), tonumber(vim.env.KERNEL_LSP_COL)
  local params = { textDocument = vim.lsp.util.make_text_document_params(bufnr),
                   position = { line = line, character = col } }

  -- the server loads its stored model in the background: ask again until it answers
  local location, tries, deadline = nil, 0, vim.loop.hrtime() + 30e9
  repeat
    tries = tries + 1
    local answers = vim.lsp.buf_request_sync(bufnr, "textDocument/definition", params, 5000) or {}
    location = H.first_location(answers[client.id] and answers[client.id].result)
    if not location then vim.wait(100) end
  until location or vim.loop.hrtime() > deadline
  assert(location, "no definition within 30 s")
  H.emit("definition", { location = location, tries = tries })

  local answers = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", params, 5000) or {}
  local hover = answers[client.id] and answers[client.id].result
  H.emit("hover", { contents = hover and hover.contents or vim.NIL })

  -- the on_attach mapping, as a user presses it: the window jumps to the definition
  vim.api.nvim_win_set_cursor(0, { line + 1, col })
  vim.api.nvim_feedkeys("gd", "mx", false)
  local target = vim.uri_to_fname(location.uri)
  H.wait(10000, "gd to open " .. target,
         function() return vim.api.nvim_buf_get_name(0) == target end)
  local cursor = vim.api.nvim_win_get_cursor(0)
  H.emit("jumped", { file = vim.api.nvim_buf_get_name(0), line = cursor[1] - 1, col = cursor[2] })

  -- a header elsewhere in the tree (and the definition's buffer) share the one client
  vim.cmd("edit " .. vim.fn.fnameescape(vim.env.KERNEL_LSP_OTHER))
  local other = H.client_of(vim.api.nvim_get_current_buf())
  H.emit("clients", { same = other.id == client.id, active = #vim.lsp.get_active_clients(),
                      filetype = vim.bo.filetype,
                      attached = vim.tbl_count(vim.lsp.get_buffers_by_client_id(client.id)) })
end)
