-- kernel-lsp for Neovim 0.7 (no vim.lsp.start there): one client per workspace root, attached
-- to every C buffer under it. Optional: vim.g.kernel_lsp = { cmd = {...}, settings = {...} }.
local function kernel_lsp_root(file)
  -- nearest kernel-lsp.toml, or Kconfig/Kbuild beside include/linux/ (the top of a kernel
  -- tree: every subdirectory has a Kconfig too); else the nearest .git; else the file's dir
  local dir, git = vim.fn.fnamemodify(file, ":p:h"), nil
  while true do
    local kconfig = vim.fn.filereadable(dir .. "/Kconfig") == 1 or vim.fn.filereadable(dir .. "/Kbuild") == 1
    if vim.fn.filereadable(dir .. "/kernel-lsp.toml") == 1
        or (kconfig and vim.fn.isdirectory(dir .. "/include/linux") == 1) then
      return dir
    end
    if not git and vim.fn.getftype(dir .. "/.git") ~= "" then git = dir end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then return git or vim.fn.fnamemodify(file, ":p:h") end
    dir = parent
  end
end

local function kernel_lsp_on_attach(_, bufnr)
  vim.bo[bufnr].omnifunc = "v:lua.vim.lsp.omnifunc" -- <C-x><C-o>: completion from the model
  local map = function(lhs, rhs) vim.keymap.set("n", lhs, rhs, { buffer = bufnr, silent = true }) end
  map("gd", vim.lsp.buf.definition)
  map("gD", vim.lsp.buf.declaration)
  map("gr", vim.lsp.buf.references)
  map("K", vim.lsp.buf.hover)
  map("<leader>ca", vim.lsp.buf.code_action)
  map("<leader>e", vim.diagnostic.open_float)
  map("[d", vim.diagnostic.goto_prev)
  map("]d", vim.diagnostic.goto_next)
end

local kernel_lsp_clients = {} -- root directory -> client id

local function kernel_lsp_attach(args)
  local file = vim.api.nvim_buf_get_name(args.buf)
  if file == "" or vim.bo[args.buf].buftype ~= "" then return end
  local root = kernel_lsp_root(file)
  local id = kernel_lsp_clients[root]
  if not (id and vim.lsp.get_client_by_id(id)) then
    local opts = vim.g.kernel_lsp or {}
    id = vim.lsp.start_client({
      name = "kernel-lsp",
      cmd = opts.cmd or { "kernel-lsp", "serve" },
      root_dir = root,
      settings = { kernelLsp = opts.settings or vim.empty_dict() },
      flags = { debounce_text_changes = 150 },
      on_attach = kernel_lsp_on_attach,
    })
    kernel_lsp_clients[root] = id
  end
  if id then vim.lsp.buf_attach_client(args.buf, id) end
end

vim.g.c_syntax_for_h = 1 -- *.h is C, not C++ (Neovim's default for .h is cpp)
vim.api.nvim_create_autocmd("FileType", {
  group = vim.api.nvim_create_augroup("kernel_lsp", { clear = true }),
  pattern = "c",
  callback = kernel_lsp_attach,
})
