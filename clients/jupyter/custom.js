// Coffer's additions to Jupyter's notebook page (docs/adr/0020), loaded by the page as custom/custom.js.
// Only where Coffer differs from a Jupyter server of one's own: kernels that end while the page is open
// (the server restarted, the idle limit, an administrator), and where Close and Halt leads.
define(['jquery', 'base/js/namespace', 'base/js/events', 'base/js/dialog', 'notebook/js/notebook'], function (
  $,
  Jupyter,
  events,
  dialog,
  notebookModule,
) {
  'use strict';

  function projectPage() {
    var path = (Jupyter.notebook && Jupyter.notebook.notebook_path) || '';
    return '/projects/' + encodeURIComponent(path.split('/')[0]);
  }

  // Jupyter keeps reconnecting to a kernel that no longer exists and says the network is at fault.
  // Ask Coffer whether the kernel still runs; if not, say so and offer a new one.
  var asking = false;
  function checkKernelGone(evt, info) {
    var kernel = info && info.kernel;
    if (!kernel || asking) return;
    asking = true;
    kernel.get_info(
      function () {
        asking = false;
      },
      function () {
        kernel._reconnect_attempt = kernel.reconnect_limit; // no more retries against a kernel that is gone
        kernel.stop_channels();
        $('.modal').modal('hide');
        dialog.kernel_modal({
          notebook: Jupyter.notebook,
          keyboard_manager: Jupyter.keyboard_manager,
          title: 'Kernel gone',
          body: $('<p/>').text(
            'The kernel of this notebook is no longer running: the server restarted, or the kernel ' +
              'was stopped (Close and Halt, the idle limit, or an administrator). Your notebook is as ' +
              'you left it. Start a new kernel to run code again; it starts empty, as you.',
          ),
          buttons: {
            'Not now': {},
            'Start a new kernel': {
              class: 'btn-primary',
              click: function () {
                asking = false;
                Jupyter.notebook.start_session();
              },
            },
          },
        });
      },
    );
  }
  events.on('kernel_connection_failed.Kernel', checkKernelGone);
  events.on('kernel_connection_dead.Kernel', checkKernelGone);

  // A save Coffer refuses (a cell holding one of the saver's values) says why in a sentence too long
  // for Jupyter's notification bar: show it whole, once per message, and keep the bar short.
  var shown = null;
  events.on('notebook_save_failed.Notebook', function (evt, error) {
    var message = error && error.message;
    if (!message || !error.xhr || error.xhr.status !== 400) return;
    Jupyter.notification_area.widget('notebook').warning('Not saved');
    if (shown === message) return;
    shown = message;
    dialog.modal({
      notebook: Jupyter.notebook,
      keyboard_manager: Jupyter.keyboard_manager,
      title: 'Not saved',
      body: $('<p/>').text(message),
      buttons: {
        OK: {
          class: 'btn-primary',
          click: function () {
            shown = null;
          },
        },
      },
    });
  });

  // Close and Halt stops the kernel (its ticket is refused from then on), then closes the window; a
  // browser keeps a window it did not open by script, so go back to the project instead.
  notebookModule.Notebook.prototype.close_and_halt = function () {
    var leave = function () {
      window.open('', '_self', '');
      window.close();
      setTimeout(function () {
        window.location.assign(projectPage());
      }, 200);
    };
    if (this.session) this.session.delete(leave, leave);
    else leave();
  };

  return {};
});
