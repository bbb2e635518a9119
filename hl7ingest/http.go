package hl7ingest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/gateway"
)

// maxTranslateBytes bounds a $translate body.
const maxTranslateBytes = 4 << 20

// Routes adds the HL7 admin endpoints under r (the gateway mounts them at
// /admin/hl7):
//
//	GET  /dead-letters?before=&count=      the dead-letter store, newest first
//	GET  /dead-letters/{id}                one dead letter (with the message)
//	POST /dead-letters/{id}/$replay?force= replay one (force: over newer versions)
//	GET  /messages/{controlId}?sender=     what happened to a control id
//	POST /$translate                       the FHIR result of a message (a Bundle), nothing stored
//
// Authentication of /admin comes with the gateway's auth (later); until
// then operators must keep these endpoints off public networks.
func (p *Processor) Routes(r gin.IRouter) {
	r.GET("/dead-letters", func(c *gin.Context) {
		count, _ := strconv.Atoi(c.Query("count"))
		page, err := p.DeadLetters(c.Request.Context(), c.Query("before"), count)
		if err != nil {
			writeErr(c, err)
			return
		}
		// The list leaves the message bytes out (they hold patient data);
		// GET one dead letter for them.
		for _, d := range page.DeadLetters {
			d.Message = nil
		}
		c.JSON(http.StatusOK, page)
	})
	r.GET("/dead-letters/:id", func(c *gin.Context) {
		d, err := p.DeadLetter(c.Request.Context(), c.Param("id"))
		if err != nil {
			writeErr(c, err)
			return
		}
		c.JSON(http.StatusOK, d)
	})
	r.POST("/dead-letters/:id/:op", func(c *gin.Context) {
		if c.Param("op") != "$replay" {
			writeErr(c, ww.Errorf(ww.KindNotFound, "not-found", "no operation %s", c.Param("op")))
			return
		}
		res, err := p.Replay(c.Request.Context(), c.Param("id"), c.Query("force") == "true")
		if err != nil {
			writeErr(c, err)
			return
		}
		c.JSON(http.StatusOK, res)
	})
	r.GET("/messages/:controlId", func(c *gin.Context) {
		tr, err := p.Trace(c.Request.Context(), c.Param("controlId"), c.Query("sender"))
		if err != nil {
			writeErr(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"controlId": c.Param("controlId"), "messages": tr})
	})
	r.POST("/:op", func(c *gin.Context) {
		if c.Param("op") != "$translate" {
			writeErr(c, ww.Errorf(ww.KindNotFound, "not-found", "no operation %s", c.Param("op")))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxTranslateBytes))
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				writeErr(c, ww.Errorf(ww.KindTooLarge, "too-costly", "the message is larger than %d bytes", maxTranslateBytes))
				return
			}
			writeErr(c, ww.Errorf(ww.KindInvalid, "invalid", "could not read the message"))
			return
		}
		bundle, _ := p.Translate(context.WithoutCancel(c.Request.Context()), body)
		c.Data(http.StatusOK, "application/fhir+json; charset=utf-8", bundle)
	})
}

// writeErr answers with an OperationOutcome and the status of the error's
// kind (gateway.StatusOf, the one table).
func writeErr(c *gin.Context, err error) {
	var we *ww.Error
	diag, code := "internal error; the gateway logged the details", "exception"
	if errors.As(err, &we) && len(we.Issues) > 0 {
		diag, code = we.Issues[0].Diagnostics, we.Issues[0].Code
	}
	oo := fhirjson.NewObject()
	oo.Set("resourceType", fhirjson.NewString("OperationOutcome"))
	is := fhirjson.NewObject()
	is.Set("severity", fhirjson.NewString("error"))
	is.Set("code", fhirjson.NewString(code))
	is.Set("diagnostics", fhirjson.NewString(diag))
	arr := fhirjson.NewArray()
	arr.Items = append(arr.Items, is)
	oo.Set("issue", arr)
	c.Data(gateway.StatusOf(err), "application/fhir+json; charset=utf-8", oo.Bytes())
}
